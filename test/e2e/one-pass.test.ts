/**
 * docker-archives written reading each store file once: to a pipe with
 * layers named by their inputs, to a file with nixpkgs' names (headers
 * written in place once hashed). The same image either way, the same bytes
 * whatever the cache holds, and a file changed between the walk and the
 * read stops the archive before it is whole.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConf } from '../../src/conf/conf.js';
import { imageFromConf } from '../../src/build/from-conf.js';
import { writeImage } from '../../src/build/write.js';
import { ExitCode, StrataError } from '../../src/errors.js';
import { CLI, strata, strataOk } from '../helpers/cli.js';
import { changedAfterWalk } from '../helpers/layers.js';
import { buildFixture, nixEnv, runTool, skopeoInspectConfig, tmpDir } from '../helpers/store.js';

let app: string;
let work: string;
let conf: string;
let digested: string;
before(() => {
  app = buildFixture('app');
  work = tmpDir('strata-one-pass-');
  conf = join(work, 'conf.json');
  digested = join(work, 'digested.json');
  strataOk(['conf', app, '--max-layers', '4', '-o', conf]);
  strataOk(['conf', app, '--max-layers', '4', '--digests', '-o', digested]);
});

const withCache = (dir: string): NodeJS.ProcessEnv => ({ ...nixEnv(), XDG_CACHE_HOME: dir });

/** Member names of a tar, in order. */
function members(archive: Buffer): string[] {
  const file = join(work, `members-${Math.random().toString(36).slice(2)}.tar`);
  writeFileSync(file, archive);
  return runTool('tar', ['-tf', file]).stdout.trim().split('\n');
}

test('a pipe gets input-named layers, a file and --nixpkgs-names digest-named ones: the same image, read once either way', () => {
  const pipe = strataOk(['stream', '--no-cache', conf]).stdoutBytes;
  const nixpkgs = strataOk(['stream', '--no-cache', conf, '--nixpkgs-names']).stdoutBytes;
  const file = join(work, 'file.tar');
  strataOk(['stream', '--no-cache', conf, '-o', file]);
  assert.ok(readFileSync(file).equals(nixpkgs), 'a file holds nixpkgs\' names, as --nixpkgs-names on a pipe');

  const pipeFile = join(work, 'pipe.tar');
  writeFileSync(pipeFile, pipe);
  const diffIds: string[] = skopeoInspectConfig(`docker-archive:${file}`).rootfs.diff_ids;
  assert.equal(diffIds.length, 3);
  assert.deepEqual(skopeoInspectConfig(`docker-archive:${pipeFile}`).rootfs.diff_ids, diffIds);

  const pipeNames = members(pipe);
  const fileNames = members(nixpkgs);
  assert.deepEqual(fileNames.slice(0, 3), diffIds.map((d) => `${d.slice('sha256:'.length)}/layer.tar`));
  assert.equal(pipeNames.length, fileNames.length);
  for (const [i, name] of pipeNames.slice(0, 3).entries()) {
    assert.match(name, /^[0-9a-f]{64}\/layer\.tar$/);
    assert.notEqual(name, fileNames[i], 'named by inputs, not by digest');
  }
  // The config (so the image ID) and the layer bytes are the same; only the names and manifest.json differ.
  assert.deepEqual(pipeNames.slice(3), fileNames.slice(3));
  assert.equal(pipe.length, nixpkgs.length);
  const manifest = JSON.parse(runTool('tar', ['-xOf', pipeFile, 'manifest.json']).stdout);
  assert.deepEqual(manifest[0].Layers, pipeNames.slice(0, 3));
});

test('output bytes depend on the inputs and flags alone: not on the cache, nor on digests the conf records', () => {
  const cache = join(work, 'cache');
  const cold = strataOk(['stream', '--no-cache', conf]).stdoutBytes;
  for (const args of [[conf], [conf], [digested], ['--no-cache', digested]]) {
    assert.ok(strataOk(['stream', ...args], { env: withCache(cache) }).stdoutBytes.equals(cold), args.join(' '));
  }
  // The pipe run filled the cache: the next --nixpkgs-names run reads each layer once from it.
  assert.equal(readdirSync(join(cache, 'strata', 'layer-digests')).length, 3);
  const nixpkgs = strataOk(['stream', '--no-cache', conf, '--nixpkgs-names']).stdoutBytes;
  for (const args of [[conf, '--nixpkgs-names'], [digested, '--nixpkgs-names']]) {
    assert.ok(strataOk(['stream', ...args], { env: withCache(cache) }).stdoutBytes.equals(nixpkgs), args.join(' '));
  }
  for (const [i, c] of [conf, digested].entries()) {
    const file = join(work, `det-${i}.tar`);
    strataOk(['stream', c, '-o', file], { env: withCache(cache) });
    assert.ok(readFileSync(file).equals(nixpkgs), c);
  }
});

/** A store of one path: a file bigger than any pipe and buffer between strata and the reader, then a small one. */
function raceStore(name: string): { conf: string; small: string } {
  const store = join(work, `store-${name}`);
  const path = join(store, `${'a'.repeat(32)}-${name}`);
  mkdirSync(path, { recursive: true });
  writeFileSync(join(path, 'a-big'), Buffer.alloc(16 << 20, 7));
  writeFileSync(join(path, 'z-small'), 'before\n');
  const graph = join(work, `graph-${name}.json`);
  writeFileSync(graph, JSON.stringify([{ path, narSize: 16 << 20, references: [] }]));
  const c = join(work, `conf-${name}.json`);
  strataOk(['conf', '--graph', graph, '--store-dir', store, '-o', c]);
  return { conf: c, small: join(path, 'z-small') };
}

test('a file changed between the walk and its read stops the pipe (exit 4) before manifest.json', async () => {
  const { conf: c, small } = raceStore('pipe');
  const child = spawn(process.execPath, [CLI, 'stream', '--no-cache', c], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  // The first bytes are the layer's header, written after its walk; strata
  // then blocks writing the big file until it is read, so z-small is read
  // only after this change.
  await new Promise<void>((resolve) => child.stdout.once('readable', resolve));
  appendFileSync(small, 'changed\n');
  const chunks: Buffer[] = [];
  child.stdout.on('data', (d: Buffer) => chunks.push(d));
  const status = await new Promise<number | null>((resolve) => child.on('close', resolve));
  assert.equal(status, ExitCode.Integrity, stderr);
  assert.match(stderr, /z-small: changed while the image was written/);
  const out = Buffer.concat(chunks);
  assert.ok(out.length > 16 << 20, 'the big file went through');
  assert.equal(out.indexOf('manifest.json'), -1);
});

test('a file changed between the walk and its read stops a file output (exit 4): no file, no temporary left', async () => {
  const { conf: c, small } = raceStore('file');
  const image = await imageFromConf(parseConf(readFileSync(c, 'utf8'), c));
  image.layers[0] = changedAfterWalk(image.layers[0]!, small);
  const out = join(work, 'race-out', 'image.tar');
  mkdirSync(join(work, 'race-out'));
  await assert.rejects(writeImage(image, `docker-archive:${out}`), (e: unknown) => e instanceof StrataError && e.exitCode === ExitCode.Integrity && /z-small: changed/.test(e.message));
  assert.equal(existsSync(out), false);
  assert.deepEqual(readdirSync(join(work, 'race-out')), []);
  // Unchanged since, the same conf writes.
  const r = strata(['stream', c, '--no-cache', '-o', out]);
  assert.equal(r.status, 0, r.stderr);
});
