#!/usr/bin/env node
// strata's benchmark: stream speed against `tar | openssl` measured in the
// same run, peak memory, and planner time on generated graphs.
//   npm run bench [-- --roots postgresql-15 --runs 3 --large-gib 4 --nixpkgs-script FILE]
// --nixpkgs-script: nixpkgs' pkgs/build-support/docker/stream_layered_image.py,
// timed on the same conf (given an empty customisation layer, which it
// requires) and checked to write the same bytes as strata.
import { spawn, execFileSync, execSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildDebianCorpus } from '../scripts/debian-corpus.mjs';
import { generateGraph } from './gen-graph.mjs';
import { writeLargeConf, writeLargePlan } from './large-conf.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'dist', 'cli.js');
const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const roots = arg('roots', 'postgresql-15');
const largeGiB = Number(arg('large-gib', '4'));
const runs = Number(arg('runs', '3'));
const nixpkgsScript = arg('nixpkgs-script', undefined);
const env = { ...process.env, NIX_CONFIG: process.env.NIX_CONFIG ?? 'build-users-group =\nsandbox = false\nsubstituters =' };
const work = mkdtempSync(join(tmpdir(), 'strata-bench-'));
process.on('exit', () => rmSync(work, { recursive: true, force: true }));

/**
 * Run a shell command `repeat` times; the median wall time, the median CPU
 * time (user + system, of all its processes: on two cores the wall time
 * cannot fall below half of it) and the largest peak RSS of its processes.
 */
async function measure(command, extraEnv = {}, repeat = runs) {
  const times = [];
  const cpus = [];
  let peak = 0;
  for (let i = 0; i < repeat; i++) {
    const start = process.hrtime.bigint();
    // `times` prints the shell's children's user and system time on its second line.
    const child = spawn('bash', ['-c', `${command} >/dev/null; times`], { env: { ...env, ...extraEnv }, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    // Peak resident set: VmHWM of every process of the command, polled.
    const poll = setInterval(() => (peak = Math.max(peak, treePeak(child.pid))), 20);
    const status = await new Promise((resolve) => child.on('close', resolve));
    clearInterval(poll);
    if (status !== 0) throw new Error(`${command} exited ${status}`);
    times.push(Number(process.hrtime.bigint() - start) / 1e9);
    const m = [...(out.trim().split('\n')[1] ?? '').matchAll(/(\d+)m([\d.]+)s/g)];
    cpus.push(m.reduce((s, [, min, sec]) => s + Number(min) * 60 + Number(sec), 0));
  }
  const median = (a) => a.sort((x, y) => x - y)[Math.floor(a.length / 2)];
  return { seconds: median(times), cpu: median(cpus), peakMB: peak / 1024 };
}

function treePeak(pid) {
  let total = 0;
  for (const p of [pid, ...children(pid)]) {
    try {
      const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${p}/status`, 'utf8'));
      if (m) total = Math.max(total, Number(m[1]));
    } catch {}
  }
  return total;
}

function children(pid) {
  try {
    const kids = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
    return kids.flatMap((k) => [k, ...children(k)]);
  } catch {
    return [];
  }
}

const corpus = buildDebianCorpus(roots.split(','), env);
const rootPaths = Object.values(corpus.roots);
const paths = execFileSync('nix-store', ['--query', '--requisites', ...rootPaths], { env, encoding: 'utf8' }).trim().split('\n');
const bytes = Number(execFileSync('du', ['-sbc', ...paths], { encoding: 'utf8' }).trim().split('\n').pop().split('\t')[0]);
const conf = join(work, 'conf.json');
const confDigests = join(work, 'conf-digests.json');
execFileSync(process.execPath, [cli, 'conf', ...rootPaths, '-o', conf], { env });
execFileSync(process.execPath, [cli, 'conf', ...rootPaths, '--digests', '-o', confDigests], { env });
const pathList = join(work, 'paths');
writeFileSync(pathList, paths.join('\n'));
const cache = join(work, 'cache');

console.log(`closure: ${roots} (${paths.length} store paths, ${(bytes / 2 ** 20).toFixed(0)} MiB); median of ${runs} runs, page cache warm`);
const tarArgs = `tar -cf - --files-from ${pathList} 2>/dev/null`;
await measure(`${tarArgs} | cat`); // warm the page cache
const rows = [
  ['baseline: tar | openssl dgst -sha256', await measure(`${tarArgs} | openssl dgst -sha256`)],
  ['baseline: tar | cat', await measure(`${tarArgs} | cat`)],
  ['strata stream, cold (no digests, no cache)', await measure(`node ${cli} stream --no-cache ${conf} | cat`)],
  ['strata stream, digests in the conf', await measure(`node ${cli} stream --no-cache ${confDigests} | cat`)],
];
await measure(`node ${cli} stream ${conf} | cat`, { XDG_CACHE_HOME: cache });
rows.push(['strata stream, cached digests', await measure(`node ${cli} stream ${conf} | cat`, { XDG_CACHE_HOME: cache })]);
let sameBytes = '';
if (nixpkgsScript) {
  const empty = Buffer.alloc(10240); // what `tar -cf layer.tar -T /dev/null` writes
  const customisation = join(work, 'customisation');
  mkdirSync(customisation);
  writeFileSync(join(customisation, 'layer.tar'), empty);
  writeFileSync(join(customisation, 'checksum'), `${createHash('sha256').update(empty).digest('hex')}\n`);
  const both = join(work, 'conf-with-customisation.json');
  writeFileSync(both, JSON.stringify({ ...JSON.parse(readFileSync(conf, 'utf8')), customisation_layer: customisation }));
  const script = `python3 '${nixpkgsScript.replace(/'/g, `'\\''`)}' ${both} 2>/dev/null`;
  rows.push(["nixpkgs' stream_layered_image.py", await measure(`${script} | cat`)]);
  const digest = (command) => execSync(`set -o pipefail; ${command} | sha256sum`, { env, shell: '/bin/bash', encoding: 'utf8' }).slice(0, 64);
  sameBytes = digest(script) === digest(`node ${cli} stream --no-cache ${both}`) ? 'the same bytes as strata' : 'NOT the same bytes as strata';
}
// Bad input at scale: read, validated and refused in linear time and memory (exit 4: paths missing; 2: a path outside the store).
rows.push(['refuse a conf of 200k layers (missing paths)', await measure(`node ${cli} stream ${writeLargeConf(work)} -o ${join(work, 'refused.tar')} 2>/dev/null; [ $? -eq 4 ]`)]);
rows.push(['refuse a plan of 200k layers (a bad path)', await measure(`node ${cli} image --plan ${writeLargePlan(work)} -o ${join(work, 'refused.tar')} 2>/dev/null; [ $? -eq 2 ]`)]);
// The fixed part of every run, whatever the closure's size.
rows.push(['strata start-up alone (--version)', await measure(`node ${cli} --version`)]);
const base = rows[0][1].seconds;
for (const [name, r] of rows) {
  console.log(`${name.padEnd(46)} ${r.seconds.toFixed(3).padStart(7)} s  ${(r.seconds / base).toFixed(2).padStart(5)}x  CPU ${r.cpu.toFixed(2).padStart(5)} s  peak RSS ${r.peakMB.toFixed(0).padStart(4)} MB`);
}
if (sameBytes) console.log(`nixpkgs' stream_layered_image.py wrote ${sameBytes}`);

// Memory must not grow with the image: a store path of `largeGiB` GiB
// (mostly one sparse file, read as zeros) streamed cold, once.
if (largeGiB > 0) {
  const store = join(work, 'large-store');
  const path = join(store, '0'.repeat(32) + '-large');
  mkdirSync(path, { recursive: true });
  const fd = openSync(join(path, 'sparse'), 'w');
  writeSync(fd, Buffer.from('end'), 0, 3, largeGiB * 2 ** 30 - 3);
  closeSync(fd);
  const largeConf = join(work, 'large.json');
  writeFileSync(largeConf, JSON.stringify({
    architecture: 'amd64', config: {}, created: '1970-01-01T00:00:01Z', mtime: '1970-01-01T00:00:01Z', from_image: null,
    store_dir: store, store_layers: [[path]], customisation_layer: null, repo_tag: 'large:latest', uid: 0, gid: 0, uname: 'root', gname: 'root',
  }));
  const r = await measure(`node ${cli} stream --no-cache ${largeConf} | cat`, {}, 1);
  console.log(`large image (${largeGiB} GiB), cold stream once: ${r.seconds.toFixed(1)} s, peak RSS ${r.peakMB.toFixed(0)} MB`);
}

const { popularityOrder } = await import(join(root, 'dist', 'plan', 'popularity.js'));
const { DEFAULT_STRATEGY, planLayers } = await import(join(root, 'dist', 'plan', 'plan.js'));
for (const n of [1000, 10000, 30000]) {
  const closure = { storeDir: '/nix/store', paths: generateGraph(n) };
  let start = performance.now();
  popularityOrder(closure);
  const popularity = performance.now() - start;
  start = performance.now();
  planLayers(closure, { strategy: DEFAULT_STRATEGY, maxLayers: 100 });
  const own = performance.now() - start;
  console.log(`plan of ${String(n).padStart(5)} paths: popularity ${popularity.toFixed(0).padStart(5)} ms, ${DEFAULT_STRATEGY} (default, 100 layers) ${own.toFixed(0).padStart(5)} ms`);
}
