#!/usr/bin/env node
// strata's benchmark: one table, one run. Every row is timed against B1
// (`tar -cf - PATHS | openssl dgst -sha256` over the same store paths) in the
// same run, with its CPU time, the bytes strata read (STRATA_STATS, as a
// multiple of the closure's file bytes: 1.00x = every file read once), the
// output's size, and peak RSS.
//   npm run bench [-- --corpus small|large|both --runs 3 --rows b1,pipe-cold,... --quick --nixpkgs-script FILE]
// --corpus: small = the postgresql-15 closure (386 MB), large = chromium,
//   python3.11, guile-3.0, git, perl, postgresql-15, maven and podman (1.8 GB);
//   both by default. --roots A,B makes one corpus of those Debian roots.
// --rows: a subset of the row ids below; --quick: one run, no push rows,
//   no large corpus, no planner timings (a few minutes).
// --nixpkgs-script: nixpkgs' pkgs/build-support/docker/stream_layered_image.py,
//   timed on the same conf (with an empty customisation layer, which it
//   requires) and checked to write the same bytes as strata's file output.
// Push rows start docker-registry on 127.0.0.1 (a fresh one for each first
// push) and run once each; skopeo's blob-info cache is hidden (a tmpfs over
// it in a private mount namespace) for its fresh-runner rows.
import { spawn, execFileSync, execSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildDebianCorpus } from '../scripts/debian-corpus.mjs';
import { generateGraph } from './gen-graph.mjs';
import { writeLargeConf, writeLargePlan } from './large-conf.mjs';
import { arg, cli, root } from './args.mjs';

const quick = process.argv.includes('--quick');
const runs = Number(arg('runs', quick ? '1' : '3'));
const nixpkgsScript = arg('nixpkgs-script', undefined);
const CORPORA = {
  small: ['postgresql-15'],
  large: ['chromium', 'python3.11', 'guile-3.0', 'git', 'perl', 'postgresql-15', 'maven', 'podman'],
};
const corpusArg = arg('corpus', quick ? 'small' : 'both');
const corpora = arg('roots', undefined)
  ? [['roots', arg('roots').split(',')]]
  : (corpusArg === 'both' ? ['small', 'large'] : [corpusArg]).map((c) => {
      if (!CORPORA[c]) throw new Error(`--corpus ${c}: expected small, large or both`);
      return [c, CORPORA[c]];
    });
const ROWS = [
  'b1', 'pipe-cold', 'pipe-cached', 'nixpkgs-pipe-cold', 'nixpkgs-pipe-cached', 'nixpkgs-pipe-digests', 'file-cold', 'nixpkgs-script',
  'push-gzip', 'skopeo-gzip', 'push-zstd', 'skopeo-zstd', 'repush-cached', 'skopeo-repush', 'push-app-change', 'skopeo-app-change', 'refuse-conf', 'refuse-plan', 'startup', 'startup-stream',
];
const selected = new Set(arg('rows', quick ? ROWS.filter((r) => !r.includes('push') && !r.startsWith('skopeo')).join(',') : ROWS.join(',')).split(','));
for (const r of selected) if (!ROWS.includes(r)) throw new Error(`--rows ${r}: expected some of ${ROWS.join(',')}`);
selected.add('b1');

const env = { ...process.env, NIX_CONFIG: process.env.NIX_CONFIG ?? 'build-users-group =\nsandbox = false\nsubstituters =' };
const work = mkdtempSync(join(tmpdir(), 'strata-bench-'));
const registries = [];
process.on('exit', () => {
  for (const r of registries) r.kill();
  rmSync(work, { recursive: true, force: true });
});
const q = (s) => `'${String(s).replace(/'/g, `'\\''`)}'`;

/**
 * Run a shell command `repeat` times (prepare() before each): the median
 * wall time and CPU time (user + system of all its processes), the bytes
 * strata reported reading, and the largest peak RSS of its processes.
 */
async function measure(command, { extraEnv = {}, repeat = runs, prepare } = {}) {
  const times = [];
  const cpus = [];
  const reads = [];
  let peak = 0;
  for (let i = 0; i < repeat; i++) {
    if (prepare) await prepare();
    const start = process.hrtime.bigint();
    // `times` prints the shell's children's user and system time on its second line.
    const child = spawn('bash', ['-c', `set -o pipefail; ${command} >/dev/null; s=$?; times; exit $s`], { env: { ...env, STRATA_STATS: '1', ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    // Peak resident set: VmHWM of every process of the command, polled.
    const poll = setInterval(() => (peak = Math.max(peak, treePeak(child.pid))), 20);
    const status = await new Promise((resolve) => child.on('close', resolve));
    clearInterval(poll);
    if (status !== 0) throw new Error(`${command} exited ${status}:\n${err}`);
    times.push(Number(process.hrtime.bigint() - start) / 1e9);
    const m = [...(out.trim().split('\n')[1] ?? '').matchAll(/(\d+)m([\d.]+)s/g)];
    cpus.push(m.reduce((s, [, min, sec]) => s + Number(min) * 60 + Number(sec), 0));
    const stats = [...err.matchAll(/^strata: stats: read (\d+) bytes, peak RSS (\d+) kB$/gm)];
    if (stats.length > 0) reads.push(stats.reduce((s, x) => s + Number(x[1]), 0));
    for (const x of stats) peak = Math.max(peak, Number(x[2]));
  }
  const median = (a) => (a.length === 0 ? undefined : [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]);
  return { seconds: median(times), cpu: median(cpus), read: median(reads), peakMB: peak / 1024 };
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

/** Bytes of every file under a directory. */
function treeBytes(dir) {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) n += treeBytes(p);
    else if (e.isFile()) n += statSync(p).size;
  }
  return n;
}

async function freePort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** docker-registry on a free loopback port, storing under a fresh directory. */
async function startRegistry() {
  const dir = mkdtempSync(join(work, 'registry-'));
  const port = await freePort();
  writeFileSync(join(dir, 'config.yml'), `version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: ${dir}/data\nhttp:\n  addr: 127.0.0.1:${port}\n`);
  const child = spawn('docker-registry', ['serve', join(dir, 'config.yml')], { stdio: 'ignore' });
  registries.push(child);
  const answers = () => new Promise((resolve) => http.get(`http://127.0.0.1:${port}/v2/`, (res) => (res.resume(), resolve(res.statusCode === 200))).on('error', () => resolve(false)));
  for (let i = 0; !(await answers()); i++) {
    if (i > 300 || child.exitCode !== null) throw new Error('docker-registry did not start');
    await new Promise((r) => setTimeout(r, 50));
  }
  return { host: `127.0.0.1:${port}`, blobBytes: () => treeBytes(join(dir, 'data')), stop: () => child.kill() };
}

const table = [];
// Rows are printed as they are measured (B1 first for each closure), so a long run shows its progress.
console.log(`median of ${runs} run(s) (push rows: one run each), page cache warm; read = bytes strata read / the closure's file bytes`);
console.log('| closure | row | time | x B1 | CPU | read | output | peak RSS |');
console.log('|---|---|---|---|---|---|---|---|');
const printRow = (r) => {
  const b1 = table.find((x) => x.corpus === r.corpus && x.id === 'b1');
  const ratio = b1 && r.corpus !== '-' ? `${(r.seconds / b1.seconds).toFixed(2)}x` : '';
  const read = r.read === undefined || !r.closureBytes ? '' : `${(r.read / r.closureBytes).toFixed(2)}x`;
  const output = r.outBytes === undefined ? '' : `${(r.outBytes / 1e6).toFixed(1)} MB`;
  console.log(`| ${r.corpus} | ${r.name} | ${r.seconds.toFixed(2)} s | ${ratio} | ${r.cpu.toFixed(2)} s | ${read} | ${output} | ${r.peakMB.toFixed(0)} MB |`);
};
let closureBytes;
const row = (corpus, id, name, r, extra = {}) => {
  const entry = { corpus, id, name, closureBytes, ...r, ...extra };
  table.push(entry);
  printRow(entry);
};

for (const [corpusName, roots] of corpora) {
  const corpus = buildDebianCorpus(roots, env);
  const rootPaths = Object.values(corpus.roots);
  const paths = execFileSync('nix-store', ['--query', '--requisites', ...rootPaths], { env, encoding: 'utf8' }).trim().split('\n');
  const fileBytes = Number(execSync(`find ${paths.map(q).join(' ')} -type f -printf '%s\\n' | awk '{s+=$1} END {print s}'`, { encoding: 'utf8' }).trim());
  closureBytes = fileBytes;
  const dir = join(work, corpusName);
  mkdirSync(dir);
  const conf = join(dir, 'conf.json');
  const confDigests = join(dir, 'conf-digests.json');
  execFileSync(process.execPath, [cli, 'conf', ...rootPaths, '-o', conf], { env });
  if (selected.has('nixpkgs-pipe-digests')) execFileSync(process.execPath, [cli, 'conf', ...rootPaths, '--digests', '-o', confDigests], { env });
  const pathList = join(dir, 'paths');
  writeFileSync(pathList, paths.join('\n'));
  const cache = join(dir, 'cache');
  const strata = `node ${q(cli)}`;
  console.error(`${corpusName}: ${roots.join(',')}: ${paths.length} store paths, ${(fileBytes / 1e6).toFixed(0)} MB of files`);
  const label = `${corpusName} (${(fileBytes / 1e6).toFixed(0)} MB)`;
  const tarArgs = `tar -cf - --files-from ${q(pathList)} 2>/dev/null`;
  await measure(`${tarArgs} | cat`, { repeat: 1 }); // warm the page cache
  const add = async (id, name, command, options) => {
    if (selected.has(id)) row(label, id, name, await measure(command, options));
  };
  await add('b1', 'B1: tar -cf - PATHS \\| openssl dgst -sha256', `${tarArgs} | openssl dgst -sha256`);
  await add('pipe-cold', 'stream to a pipe, cold (input names)', `${strata} stream --no-cache ${q(conf)} | cat`);
  if (selected.has('pipe-cached') || selected.has('nixpkgs-pipe-cached')) await measure(`${strata} stream ${q(conf)} | cat`, { extraEnv: { XDG_CACHE_HOME: cache }, repeat: 1 });
  await add('pipe-cached', 'stream to a pipe, cache warm (input names)', `${strata} stream ${q(conf)} | cat`, { extraEnv: { XDG_CACHE_HOME: cache } });
  await add('nixpkgs-pipe-cold', 'stream to a pipe, cold, --nixpkgs-names', `${strata} stream --no-cache --nixpkgs-names ${q(conf)} | cat`);
  await add('nixpkgs-pipe-cached', 'stream to a pipe, cache warm, --nixpkgs-names', `${strata} stream --nixpkgs-names ${q(conf)} | cat`, { extraEnv: { XDG_CACHE_HOME: cache } });
  await add('nixpkgs-pipe-digests', 'stream to a pipe, conf --digests, --nixpkgs-names', `${strata} stream --no-cache --nixpkgs-names ${q(confDigests)} | cat`);
  const file = join(dir, 'image.tar');
  if (selected.has('file-cold')) {
    // Each run writes a new file: replacing the previous run's would time the filesystem freeing 378 MB.
    const r = await measure(`${strata} stream --no-cache ${q(conf)} -o ${q(file)}`, { prepare: () => rmSync(file, { force: true }) });
    row(label, 'file-cold', 'stream to a file, cold (nixpkgs\' bytes)', r, { outBytes: statSync(file).size });
    rmSync(file, { force: true });
  }
  if (selected.has('nixpkgs-script') && nixpkgsScript) {
    const empty = Buffer.alloc(10240); // what `tar -cf layer.tar -T /dev/null` writes
    const customisation = join(dir, 'customisation');
    mkdirSync(customisation);
    writeFileSync(join(customisation, 'layer.tar'), empty);
    writeFileSync(join(customisation, 'checksum'), `${createHash('sha256').update(empty).digest('hex')}\n`);
    const both = join(dir, 'conf-with-customisation.json');
    writeFileSync(both, JSON.stringify({ ...JSON.parse(readFileSync(conf, 'utf8')), customisation_layer: customisation }));
    const script = `python3 ${q(nixpkgsScript)} ${q(both)} 2>/dev/null`;
    const r = await measure(`${script} | cat`);
    const digest = (command) => execSync(`set -o pipefail; ${command} | sha256sum`, { env, shell: '/bin/bash', encoding: 'utf8' }).slice(0, 64);
    const same = digest(script) === digest(`${strata} stream --no-cache --nixpkgs-names ${q(both)}`);
    row(label, 'nixpkgs-script', `nixpkgs' stream_layered_image.py (${same ? 'same bytes as strata' : 'NOT the same bytes as strata'})`, r);
  }

  // A push row that fails is reported, and the table still printed.
  if ([...selected].some((r) => r.includes('push') || r.startsWith('skopeo'))) try {
    // One docker-archive for strata push and skopeo copy alike; an app change: one more layer on top.
    execFileSync(process.execPath, [cli, 'stream', '--no-cache', conf, '-o', file], { env });
    const change = join(dir, 'app-change');
    mkdirSync(change);
    writeFileSync(join(change, 'version'), `${Date.now()}\n`);
    const conf2 = join(dir, 'conf-app-change.json');
    writeFileSync(conf2, JSON.stringify({ ...JSON.parse(readFileSync(conf, 'utf8')), customisation_layer: change }));
    const file2 = join(dir, 'image-app-change.tar');
    execFileSync(process.execPath, [cli, 'stream', '--no-cache', conf2, '-o', file2], { env });
    const push = (src, reg, tag, more = '') => `${strata} push ${q(src)} docker://${reg.host}/bench:${tag} --tls-verify=false ${more}`;
    // skopeo with an empty blob-info cache, as a fresh CI runner: a tmpfs over it, in a mount namespace of its own.
    const skopeoFresh = (src, reg, tag, more = '') =>
      `unshare -m sh -c ${q(`mount -t tmpfs tmpfs /var/lib/containers/cache && skopeo copy -q --dest-tls-verify=false ${more} docker-archive:${src} docker://${reg.host}/bench:${tag}`)}`;
    const fresh = async (id, name, command) => {
      if (!selected.has(id)) return undefined;
      const reg = await startRegistry();
      const r = await measure(command(reg), { repeat: 1 });
      row(label, id, name, r, { outBytes: reg.blobBytes() });
      return reg;
    };
    const emptyCache = () => join(mkdtempSync(join(dir, 'empty-cache-')));
    const gzip = await fresh('push-gzip', 'strata push, first, gzip (empty cache)', (reg) => push(file, reg, 'v1', '--compression gzip'));
    (await fresh('skopeo-gzip', 'skopeo copy, first, gzip (fresh blob-info cache)', (reg) => skopeoFresh(file, reg, 'v1')))?.stop();
    (await fresh('push-zstd', 'strata push, first, zstd (empty cache)', (reg) => push(file, reg, 'v1', '--compression zstd')))?.stop();
    (await fresh('skopeo-zstd', 'skopeo copy, first, zstd (fresh blob-info cache)', (reg) => skopeoFresh(file, reg, 'v1', '--dest-compress-format zstd')))?.stop();
    if (gzip) {
      if (selected.has('repush-cached')) row(label, 'repush-cached', 'strata push again, cache warm', await measure(push(file, gzip, 'v2', '--compression gzip'), { repeat: 1 }));
      if (selected.has('skopeo-repush')) row(label, 'skopeo-repush', 'skopeo copy again (its blob-info cache warm)', await measure(`skopeo copy -q --dest-tls-verify=false docker-archive:${q(file)} docker://${gzip.host}/bench:v2`, { repeat: 1 }));
      if (selected.has('push-app-change')) {
        // Over the tag that names the previous release, as a CI runner replaces it.
        row(label, 'push-app-change', 'strata push of an app change, empty cache', await measure(push(file2, gzip, 'v1', '--compression gzip'), { repeat: 1, extraEnv: { XDG_CACHE_HOME: emptyCache() } }));
      }
      if (selected.has('skopeo-app-change')) row(label, 'skopeo-app-change', 'skopeo copy of an app change (fresh blob-info cache)', await measure(skopeoFresh(file2, gzip, 'v4'), { repeat: 1 }));
      gzip.stop();
    }
    rmSync(file, { force: true });
    rmSync(file2, { force: true });
  } catch (e) {
    console.error(`push rows of ${label}: ${e.message}`);
  }
}
// Bad input at scale: read, validated and refused in linear time and memory (exit 4: paths missing; 2: a path outside the store).
// The fixed part of every run, whatever the closure's size.
closureBytes = undefined;
if (selected.has('refuse-conf')) row('-', 'refuse-conf', 'refuse a conf of 200k layers (missing paths)', await measure(`node ${q(cli)} stream ${q(writeLargeConf(work))} -o ${q(join(work, 'refused.tar'))} 2>/dev/null; [ $? -eq 4 ]`));
if (selected.has('refuse-plan')) row('-', 'refuse-plan', 'refuse a plan of 200k layers (a bad path)', await measure(`node ${q(cli)} image --plan ${q(writeLargePlan(work))} -o ${q(join(work, 'refused.tar'))} 2>/dev/null; [ $? -eq 2 ]`));
if (selected.has('startup')) row('-', 'startup', 'strata start-up alone (--version)', await measure(`node ${q(cli)} --version`));
// A command's start-up to its first read: its modules loaded, its arguments parsed (a missing conf fails the read, exit 2).
if (selected.has('startup-stream')) row('-', 'startup-stream', 'strata stream start-up, to its first read (a missing conf)', await measure(`node ${q(cli)} stream ${q(join(work, 'missing.json'))} 2>/dev/null; [ $? -eq 2 ]`));


// Node 20 parses the bundle NODE_EXTRA_CA_CERTS names at every start, before any of strata runs
// (strata's registry client reads CA bundles itself): where it is set, every strata row pays it.
if (selected.has('startup') && process.env.NODE_EXTRA_CA_CERTS) {
  const set = await measure('node -e 0');
  const unset = await measure('env -u NODE_EXTRA_CA_CERTS node -e 0');
  console.log(`node -e 0: ${set.seconds.toFixed(3)} s with NODE_EXTRA_CA_CERTS as set here, ${unset.seconds.toFixed(3)} s without it`);
}
if (!quick && selected.has('startup')) {
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
}
