#!/usr/bin/env node
// --to docker-daemon against `strata stream | docker load`, on the engine at
// $DOCKER_HOST (unix://): an image of a Debian corpus closure loaded into an
// engine that holds nothing of it, then an image of the same closure with a
// small top layer of its own, whose store layers the engine then holds.
// Wall time (the engine's work is in another process) and bytes sent.
//   npm run build && DOCKER_HOST=unix:///PATH node bench/daemon.mjs [--roots postgresql-15] [--reverse]
// The engine should be a scratch one: the bench removes the images it loads.
import { execFileSync, execSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildDebianCorpus } from '../scripts/debian-corpus.mjs';
import { arg, cli, root } from './args.mjs';

const roots = arg('roots', 'postgresql-15');
const host = process.env.DOCKER_HOST;
if (!host?.startsWith('unix://')) throw new Error('set DOCKER_HOST=unix:///PATH to a scratch engine');
const env = { ...process.env, NIX_CONFIG: process.env.NIX_CONFIG ?? 'build-users-group =\nsandbox = false\nsubstituters =' };
const work = mkdtempSync(join(tmpdir(), 'strata-bench-daemon-'));
process.on('exit', () => rmSync(work, { recursive: true, force: true }));

const corpus = buildDebianCorpus(roots.split(','), env);
const rootPaths = Object.values(corpus.roots);
const top = join(work, 'top');
mkdirSync(join(top, 'etc'), { recursive: true });
writeFileSync(join(top, 'etc', 'release'), 'bench\n');
const confs = {};
for (const [name, extra] of [['base', []], ['top', ['--customisation', top]]]) {
  confs[name] = join(work, `${name}.json`);
  // Digests recorded in the conf: both ways read each layer once, to send it.
  execFileSync(process.execPath, [cli, 'conf', ...rootPaths, '--name', 'bench', '--tag', name, '--digests', '-o', confs[name], ...extra], { env });
}
const docker = (args) => execFileSync('docker', ['-H', host, ...args], { encoding: 'utf8' });
const reset = () => docker(['image', 'rm', '-f', 'bench:base', 'bench:top']) && undefined;

function timed(command) {
  const start = process.hrtime.bigint();
  const out = execSync(command, { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 26 });
  return { seconds: Number(process.hrtime.bigint() - start) / 1e9, out };
}

const results = [];
// --reverse runs the pipe first: the first way on a fresh engine pays its warm-up.
const ways = ['docker-daemon', 'stream | docker load'];
for (const way of process.argv.includes('--reverse') ? ways.reverse() : ways) {
  try { reset(); } catch {}
  for (const name of ['base', 'top']) {
    if (way === 'docker-daemon') {
      const { seconds } = timed(`node ${cli} stream ${confs[name]} --to docker-daemon: 2>${work}/report`);
      const report = JSON.parse(readFileSync(join(work, 'report'), 'utf8'));
      results.push({ way, image: name, seconds, sent: report.bytes.sent, layers: `${report.layers.sent} sent, ${report.layers.skipped} held` });
    } else {
      const { seconds } = timed(`node ${cli} stream ${confs[name]} | docker -H ${host} load -q`);
      // The same bytes again, counted (the archive is deterministic).
      const sent = Number(execSync(`node ${cli} stream ${confs[name]} | wc -c`, { env, encoding: 'utf8' }).trim());
      results.push({ way, image: name, seconds, sent, layers: 'all sent' });
    }
  }
}
try { reset(); } catch {}
console.log(`closure: ${roots}; engine: ${host}`);
for (const r of results) console.log(`${r.way.padEnd(22)} ${r.image.padEnd(5)} ${r.seconds.toFixed(2).padStart(7)} s ${String(r.sent).padStart(12)} bytes  (${r.layers})`);
