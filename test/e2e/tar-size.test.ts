import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ExitCode, StrataError } from '../../src/errors.js';
import { customisationLayer } from '../../src/layer/customisation.js';
import { Perms } from '../../src/layer/perms.js';
import { type SizedLayer, storeLayer } from '../../src/layer/store-layer.js';
import { hardTree } from '../helpers/hard-tree.js';
import { buildFixture, queryRequisites, tmpDir } from '../helpers/store.js';

// A layer's tar length from a walk of its files' metadata must be the length
// of the tar the layer then writes, for every kind of entry (a file over
// 8 GiB: hard-trees.test.ts, which reads it once anyway).

const work = tmpDir('strata-tar-size-');
const store = join(work, 'store');
mkdirSync(store);
const { root, small, linkPath } = hardTree(store);
const attrs = { mtime: 1706933106, uid: 1000, gid: 100, uname: 'builder', gname: 'users' };

/** The length of what the layer writes. */
function written(layer: SizedLayer): number {
  let n = 0;
  for (const chunk of layer.open() as Iterable<Buffer>) n += chunk.length;
  return n;
}

/** Both ways to the length agree with the bytes: a walk before the layer's reads, and a walk whose members the bytes replay. */
function assertExact(layer: SizedLayer): number {
  const size = layer.tarSize();
  assert.equal(written(layer), size);
  const walked = layer.walk();
  assert.equal(walked.size, size);
  let replayed = 0;
  for (const chunk of walked.open() as Iterable<Buffer>) replayed += chunk.length;
  assert.equal(replayed, size);
  return size;
}

test('the metadata walk gives the written length of hard trees', () => {
  const size = assertExact(storeLayer([root], store, attrs));
  // 3000 files of a block each plus their headers: the walk did count them.
  assert.ok(size > 3000 * 1024, `${size}`);
  assertExact(storeLayer([linkPath, small], store, attrs));
  // A store directory deep enough that its own parents need pax headers.
  const deepStore = join(work, 'd'.repeat(90), 'e'.repeat(90), 'store');
  mkdirSync(deepStore, { recursive: true });
  writeFileSync(join(deepStore, 'only'), 'x');
  assertExact(storeLayer([join(deepStore, 'only')], deepStore, attrs));
});

test('owners that need pax records (non-ASCII, long names, big ids) are counted', async () => {
  const perms = await Perms.resolve([
    { path: root, regex: '/names/', uname: 'ü'.repeat(40), gname: 'g'.repeat(33) },
    { path: root, regex: '/many/f1', uid: 4294967295, gid: 2097152, mode: '7777' },
  ], store);
  const size = assertExact(storeLayer([root], store, attrs, perms));
  assert.ok(size > storeLayer([root], store, attrs).tarSize());
});

test('customisation trees and ready layer.tar files are measured too', async () => {
  assertExact(await customisationLayer(root, attrs));
  const perms = await Perms.resolve([{ path: root, regex: '^/many/', uname: 'ü'.repeat(40) }], store);
  assertExact(await customisationLayer(root, attrs, perms));
  const ready = join(work, 'ready');
  mkdirSync(ready);
  writeFileSync(join(ready, 'layer.tar'), Buffer.alloc(3 * 512));
  writeFileSync(join(ready, 'checksum'), 'a'.repeat(64));
  assert.equal((await customisationLayer(ready, attrs)).tarSize(), 3 * 512);
});

test('store paths built by Nix, one layer per path and all in one layer', () => {
  const paths = [...new Set([...queryRequisites(buildFixture('app')), ...queryRequisites(buildFixture('tricky'))])];
  assert.ok(paths.length >= 4);
  for (const p of paths) assertExact(storeLayer([p], '/nix/store', attrs));
  assertExact(storeLayer(paths, '/nix/store', attrs));
});

test('a file changed or added after the walk stops the read that follows it', () => {
  const tree = join(store, 'cccc-changing');
  mkdirSync(tree);
  writeFileSync(join(tree, 'a'), 'one');
  const layer = storeLayer([tree], store, attrs);
  layer.tarSize();
  appendFileSync(join(tree, 'a'), 'two');
  assert.throws(() => written(layer), (e: unknown) => e instanceof StrataError && e.exitCode === ExitCode.Integrity && /\/a: changed while/.test(e.message));

  const other = storeLayer([tree], store, attrs);
  other.tarSize();
  // A new entry changes its directory, which the read finds first.
  writeFileSync(join(tree, 'b'), '');
  assert.throws(() => written(other), (e: unknown) => e instanceof StrataError && e.exitCode === ExitCode.Integrity && /cccc-changing: changed while/.test(e.message));

  // Replaying a walk: the file read is checked against the stat the walk took.
  const walked = storeLayer([tree], store, attrs).walk();
  appendFileSync(join(tree, 'a'), 'three');
  assert.throws(() => [...(walked.open() as Iterable<Buffer>)], (e: unknown) => e instanceof StrataError && e.exitCode === ExitCode.Integrity && /\/a: changed while/.test(e.message));
});
