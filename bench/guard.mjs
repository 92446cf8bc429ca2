#!/usr/bin/env node
// The platform guard's cost in a cold stream: `strata stream --no-cache CONF | cat`
// with the guard, less the same with --allow-foreign-binaries (no guard work),
// as a share of the stream with the guard; wall and CPU (user + system of
// strata and cat) medians over interleaved pairs, so load from elsewhere on the
// machine falls on both alike. --baseline DIST times another build's
// dist/ (e.g. main's) in the same run, interleaved with this one.
// Also the guard alone as registry and engine destinations run it (its own
// walk, cold and with the store paths' binaries cached), in-process CPU.
//   npm run build && node bench/guard.mjs [--roots postgresql-15] [--runs 7] [--baseline DIST]
import { execFileSync, execSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { buildDebianCorpus } from '../scripts/debian-corpus.mjs';
import { arg, root } from './args.mjs';

const roots = arg('roots', 'postgresql-15');
const runs = Number(arg('runs', '7'));
const baseline = arg('baseline', undefined);
const env = { ...process.env, NIX_CONFIG: process.env.NIX_CONFIG ?? 'build-users-group =\nsandbox = false\nsubstituters =' };
const work = mkdtempSync(join(tmpdir(), 'strata-bench-guard-'));
process.on('exit', () => rmSync(work, { recursive: true, force: true }));

const dist = join(root, 'dist');
const corpus = buildDebianCorpus(roots.split(','), env);
const rootPaths = Object.values(corpus.roots);
const paths = execFileSync('nix-store', ['--query', '--requisites', ...rootPaths], { env, encoding: 'utf8' }).trim().split('\n');
const pathList = join(work, 'paths');
writeFileSync(pathList, paths.join('\n'));
const conf = join(work, 'conf.json');
execFileSync(process.execPath, [join(dist, 'cli.js'), 'conf', ...rootPaths, '-o', conf], { env });

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Wall and CPU seconds (user + system of the command and all its children, from bash's `times`). */
function timed(command) {
  const start = process.hrtime.bigint();
  const out = execSync(`bash -c '${command.replace(/'/g, `'\\''`)} >/dev/null; times'`, { env, encoding: 'utf8', maxBuffer: 1 << 20 });
  const wall = Number(process.hrtime.bigint() - start) / 1e9;
  const [, children] = out.trim().split('\n').slice(-2);
  const [u, s] = children.split(/\s+/).map((t) => { const m = /(\d+)m([\d.]+)s/.exec(t); return Number(m[1]) * 60 + Number(m[2]); });
  return { wall, cpu: u + s };
}

const builds = [...(baseline === undefined ? [] : [['baseline', resolve(baseline)]]), ['this build', dist]];
const stream = (d, allow) => `node ${join(d, 'cli.js')} stream --no-cache ${conf}${allow ? ' --allow-foreign-binaries' : ''} | cat`;
timed(`tar -cf - --files-from ${pathList} 2>/dev/null | cat`); // warm the page cache
// Per build: the runs with the guard, without, and each pair's difference.
const results = builds.map(() => ({ guarded: [], allowed: [], cost: [] }));
for (let i = 0; i < runs; i++) {
  for (const [b, [, d]] of builds.entries()) {
    // Which of a pair goes first alternates, so neither always starts on a cooler machine.
    const order = i % 2 === 0 ? [false, true] : [true, false];
    const [first, second] = order.map((allow) => ({ allow, t: timed(stream(d, allow)) }));
    const guarded = (first.allow ? second : first).t;
    const allowed = (first.allow ? first : second).t;
    const r = results[b];
    r.guarded.push(guarded);
    r.allowed.push(allowed);
    r.cost.push({ wall: guarded.wall - allowed.wall, cpu: guarded.cpu - allowed.cpu });
  }
}

// The guard as registry and engine destinations run it, in a fresh process, start-up left out.
const cacheDir = join(work, 'cache');
const guardOnce = (cached) => `Promise.all([import('${join(dist, 'guard', 'platform-guard.js')}'), import('${join(dist, 'layer', 'digest-cache.js')}')]).then(async ([{ findForeignBinaries }, { DigestCache }]) => {
  const paths = require('fs').readFileSync('${pathList}', 'utf8').split('\\n');
  const cache = ${cached} ? new DigestCache('${cacheDir}') : undefined;
  const before = process.cpuUsage();
  await findForeignBinaries(paths, { architecture: 'amd64', os: 'linux' }, cache);
  const used = process.cpuUsage(before);
  console.log((used.user + used.system) / 1e6);
})`;
const alone = [];
const cachedAlone = [];
for (let i = 0; i < runs; i++) {
  alone.push(Number(execFileSync(process.execPath, ['-e', guardOnce(false)], { encoding: 'utf8' })));
  if (i === 0) execFileSync(process.execPath, ['-e', guardOnce(true)]);
  cachedAlone.push(Number(execFileSync(process.execPath, ['-e', guardOnce(true)], { encoding: 'utf8' })));
}

const files = Number(execSync(`find ${paths.join(' ')} -type f | wc -l`, { encoding: 'utf8' }).trim());
const s = (x) => `${x.toFixed(3)} s`;
const pct = (part, whole) => `${((100 * part) / whole).toFixed(1)}%`;
console.log(`closure: ${roots} (${paths.length} store paths, ${files} regular files); medians of ${runs} interleaved pairs, page cache warm`);
console.log('build       | stream, guard (wall / CPU) | --allow-foreign-binaries | guard cost, paired (wall / CPU)');
for (const [b, [name]] of builds.entries()) {
  const r = results[b];
  const g = { wall: median(r.guarded.map((t) => t.wall)), cpu: median(r.guarded.map((t) => t.cpu)) };
  const a = { wall: median(r.allowed.map((t) => t.wall)), cpu: median(r.allowed.map((t) => t.cpu)) };
  const c = { wall: median(r.cost.map((t) => t.wall)), cpu: median(r.cost.map((t) => t.cpu)) };
  console.log(
    `${name.padEnd(11)} | ${s(g.wall)} / ${s(g.cpu)}        | ${s(a.wall)} / ${s(a.cpu)}    | ${s(c.wall)} (${pct(c.wall, g.wall)}) / ${s(c.cpu)} (${pct(c.cpu, g.cpu)})`,
  );
}
console.log(`guard alone (registry and engine destinations), CPU: ${s(median(alone))} cold, ${s(median(cachedAlone))} with the store paths cached`);
