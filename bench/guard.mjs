#!/usr/bin/env node
// The platform guard's cost against reading the closure once: CPU time
// (user + system) of the guard alone, in this process after start-up, and of
// `tar -cf - PATHS | openssl dgst -sha256` and a cold `strata stream`, each
// with all its processes. CPU rather than wall time: the cores are shared.
//   npm run build && node bench/guard.mjs [--roots postgresql-15] [--runs 5]
import { execFileSync, execSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildDebianCorpus } from '../scripts/debian-corpus.mjs';
import { arg, cli, root } from './args.mjs';

const roots = arg('roots', 'postgresql-15');
const runs = Number(arg('runs', '5'));
const env = { ...process.env, NIX_CONFIG: process.env.NIX_CONFIG ?? 'build-users-group =\nsandbox = false\nsubstituters =' };
const work = mkdtempSync(join(tmpdir(), 'strata-bench-guard-'));
process.on('exit', () => rmSync(work, { recursive: true, force: true }));

const corpus = buildDebianCorpus(roots.split(','), env);
const rootPaths = Object.values(corpus.roots);
const paths = execFileSync('nix-store', ['--query', '--requisites', ...rootPaths], { env, encoding: 'utf8' }).trim().split('\n');
const pathList = join(work, 'paths');
writeFileSync(pathList, paths.join('\n'));
const conf = join(work, 'conf.json');
execFileSync(process.execPath, [join(root, 'dist', 'cli.js'), 'conf', ...rootPaths, '-o', conf], { env });

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** CPU seconds (user + system) of a shell command and all its children, from bash's `times`. */
function shellCpu(command) {
  const out = execSync(`bash -c '${command.replace(/'/g, `'\\''`)} >/dev/null; times'`, { env, encoding: 'utf8', maxBuffer: 1 << 20 });
  const [, children] = out.trim().split('\n').slice(-2);
  const [u, s] = children.split(/\s+/).map((t) => { const m = /(\d+)m([\d.]+)s/.exec(t); return Number(m[1]) * 60 + Number(m[2]); });
  return u + s;
}

const tar = `tar -cf - --files-from ${pathList} 2>/dev/null | openssl dgst -sha256`;
const stream = `node ${join(root, 'dist', 'cli.js')} stream --no-cache ${conf} | cat`;
// The guard once in a fresh process, as the CLI runs it: its own CPU time, start-up left out.
// Cold: nothing cached (a closure never imaged here, or --no-cache); warm: each store path's
// binaries kept in the layer digest cache by an earlier run.
const cacheDir = join(work, 'cache');
const guardOnce = (cached) => `Promise.all([import('${join(root, 'dist', 'guard', 'platform-guard.js')}'), import('${join(root, 'dist', 'layer', 'digest-cache.js')}')]).then(async ([{ findForeignBinaries }, { DigestCache }]) => {
  const paths = require('fs').readFileSync('${pathList}', 'utf8').split('\\n');
  const cache = ${cached} ? new DigestCache('${cacheDir}') : undefined;
  const before = process.cpuUsage();
  const found = (await findForeignBinaries(paths, { architecture: 'amd64', os: 'linux' }, cache)).length;
  const used = process.cpuUsage(before);
  console.log((used.user + used.system) / 1e6, found);
})`;
shellCpu(tar); // warm the page cache
// Interleaved, so that other load on the machine falls on all three alike.
const guard = [];
const warmGuard = [];
const tarCpu = [];
const streamCpu = [];
let found = 0;
for (let i = 0; i < runs; i++) {
  const [seconds, count] = execFileSync(process.execPath, ['-e', guardOnce(false)], { encoding: 'utf8' }).trim().split(' ').map(Number);
  guard.push(seconds);
  found = count;
  // The first run with the cache fills it.
  if (i === 0) execFileSync(process.execPath, ['-e', guardOnce(true)]);
  warmGuard.push(Number(execFileSync(process.execPath, ['-e', guardOnce(true)], { encoding: 'utf8' }).trim().split(' ')[0]));
  tarCpu.push(shellCpu(tar));
  streamCpu.push(shellCpu(stream));
}
const files = Number(execSync(`find ${paths.join(' ')} -type f | wc -l`, { encoding: 'utf8' }).trim());
const g = median(guard);
const w = median(warmGuard);
const t = median(tarCpu);
const st = median(streamCpu);
console.log(`guard runs: ${guard.map((x) => x.toFixed(3)).join(' ')}; cached: ${warmGuard.map((x) => x.toFixed(3)).join(' ')}`);
console.log(`closure: ${roots} (${paths.length} store paths, ${files} regular files); median CPU seconds (user + system) of ${runs} runs, page cache warm`);
console.log(`guard alone:              ${g.toFixed(3)} s (${found} foreign binaries)`);
console.log(`tar | openssl dgst:       ${t.toFixed(3)} s   guard = ${((100 * g) / t).toFixed(1)}%`);
console.log(`strata stream --no-cache: ${st.toFixed(3)} s   guard = ${((100 * g) / st).toFixed(1)}%`);
console.log(`guard, paths cached:      ${w.toFixed(3)} s   = ${((100 * w) / st).toFixed(1)}% of the cold stream`);
