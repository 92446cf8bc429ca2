// Planning against what was shipped, on the Debian fleets bench/fleet.mjs
// writes (graph files, one per image; apt's package lists, no corpus):
//  1. `strata simulate --reuse`: total excess (fleet + app + library updates)
//     of each strategy planned alone and with --reuse (the fleet in order,
//     each image reusing the plans before it; each update its previous plan
//     and the fleet's), and shared --reuse against the best of popularity,
//     auto and size planned alone (target: at most 0.5x).
//  2. `strata simulate --releases N`: bytes re-sent per release over the
//     bound (the new paths' bytes), each strategy alone and with --reuse.
//
//   node bench/releases.mjs [--fleets /tmp/strata-fleet] [--budgets 8,16,32] [--libraries 40] [--releases 20] [--bump 3]
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1] : fallback;
};
const root = opt('fleets', '/tmp/strata-fleet');
const budgets = opt('budgets', '8,16,32').split(',');
const cli = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'cli.js');
const BASELINES = ['popularity', 'auto', 'size'];
if (!existsSync(root)) {
  console.error(`${root}: no fleets there; write them first with: npm run bench:fleet -- --out ${root}`);
  process.exit(1);
}
const mb = (b) => (b / 1e6).toFixed(0);
const run = (a) => JSON.parse(execFileSync('node', [cli, 'simulate', ...a, '--max-layers', ...budgets, '--json'], { maxBuffer: 1 << 28, encoding: 'utf8' }));
for (const fleet of readdirSync(root).sort()) {
  const graphs = readdirSync(join(root, fleet)).filter((f) => f.endsWith('.json')).sort().flatMap((f) => ['--graph', join(root, fleet, f)]);
  console.log(`\n${fleet}: ${graphs.length / 2} images; total excess in MB (fleet + app + ${opt('libraries', '40')} library updates)`);
  console.log(['budget', ...BASELINES, 'shared', 'shared --reuse', 'best --reuse', 'ratio'].map((c) => c.padStart(19)).join(''));
  for (const sim of run([...graphs, '--libraries', opt('libraries', '40'), '--reuse'])) {
    const ex = (s, reuse) => sim.results.find((r) => r.strategy === s && !!r.reuse === reuse).excess;
    const best = Math.min(...BASELINES.map((s) => ex(s, false)));
    const bestReuse = Math.min(...BASELINES.map((s) => ex(s, true)));
    console.log([String(sim.maxLayers), ...BASELINES.map((s) => mb(ex(s, false))), mb(ex('shared', false)), mb(ex('shared', true)), mb(bestReuse), (ex('shared', true) / best).toFixed(2) + 'x'].map((c) => c.padStart(19)).join(''));
  }
  console.log(`${fleet}: ${opt('releases', '20')} releases of ${opt('bump', '3')} library bumps and the applications; mean bytes re-sent per release over the bound, MB`);
  console.log(['budget', 'bound', ...BASELINES, 'shared', ...BASELINES.map((s) => s + ' --reuse'), 'shared --reuse', 'ratio'].map((c) => c.padStart(19)).join(''));
  for (const sim of run([...graphs, '--releases', opt('releases', '20'), '--bump', opt('bump', '3')])) {
    const n = sim.bound.resent.length;
    const mean = (xs) => xs.reduce((a, b) => a + b, 0) / n;
    const bound = mean(sim.bound.resent);
    const ex = (s, reuse) => mean(sim.results.find((r) => r.strategy === s && r.reuse === reuse).resent) - bound;
    const best = Math.min(...BASELINES.flatMap((s) => [ex(s, false), ex(s, true)]));
    console.log([String(sim.maxLayers), mb(bound), ...BASELINES.map((s) => mb(ex(s, false))), mb(ex('shared', false)), ...BASELINES.map((s) => mb(ex(s, true))), mb(ex('shared', true)), (ex('shared', true) / best).toFixed(2) + 'x'].map((c) => c.padStart(19)).join(''));
  }
}
