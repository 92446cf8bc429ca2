import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { strata, strataOk } from '../helpers/cli.js';
import { buildFixture, nixEnv, tmpDir } from '../helpers/store.js';

let app: string;
let work: string;
before(() => {
  app = buildFixture('app');
  work = tmpDir('strata-digests-');
});
const withCache = (dir: string): NodeJS.ProcessEnv => ({ ...nixEnv(), XDG_CACHE_HOME: dir });

test('conf --digests records every store layer; the stream is the same bytes, read once and checked', () => {
  const plain = join(work, 'plain.json');
  const digested = join(work, 'digested.json');
  strataOk(['conf', app, '--max-layers', '4', '-o', plain]);
  strataOk(['conf', app, '--max-layers', '4', '--digests', '-o', digested]);
  const conf = JSON.parse(readFileSync(digested, 'utf8'));
  assert.equal(conf.store_layer_digests.length, conf.store_layers.length);
  const a = strataOk(['stream', '--no-cache', plain]).stdoutBytes;
  const b = strataOk(['stream', '--no-cache', digested]).stdoutBytes;
  assert.ok(a.equals(b));
  const manifest = JSON.parse(strataOk(['stream', '--no-cache', digested, '--to', `oci:${join(work, 'oci')}:x`]).stdout || '{}');
  assert.deepEqual(manifest, {});

  // A digest that does not match the files: stopped, naming the layer.
  conf.store_layer_digests[1].digest = `sha256:${'0'.repeat(64)}`;
  writeFileSync(digested, JSON.stringify(conf));
  const r = strata(['stream', '--no-cache', digested, '-o', join(work, 'lie.tar')]);
  assert.equal(r.status, 4);
  assert.match(r.stderr, new RegExp(`layer 0{64}/layer\\.tar \\(${conf.store_layers[1][0].replace(/[+.]/g, '\\$&')}.*content digest`));
  assert.deepEqual(readdirSync(work).filter((f) => f.includes('lie.tar')), []);
  conf.store_layer_digests.pop();
  writeFileSync(digested, JSON.stringify(conf));
  assert.match(strata(['stream', digested]).stderr, /field 'store_layer_digests' must be a list of 3/);
});

test('a store path altered behind strata\'s back after conf --digests stops the stream', () => {
  const store = join(work, 'store');
  const path = join(store, 'aaaa-altered');
  mkdirSync(path, { recursive: true });
  writeFileSync(join(path, 'file'), 'original\n');
  const graph = join(work, 'graph.json');
  writeFileSync(graph, JSON.stringify([{ path, narSize: 10, references: [] }]));
  const conf = join(work, 'altered.json');
  strataOk(['conf', '--graph', graph, '--store-dir', store, '--digests', '-o', conf]);
  writeFileSync(join(path, 'file'), 'tampered\n');
  const r = strata(['stream', conf]);
  assert.equal(r.status, 4);
  assert.match(r.stderr, /aaaa-altered.*content digest/);
});

test('the digest cache: filled on the first stream, used on the next, missed when a path changes, robust to corruption', () => {
  const cache = join(work, 'cache');
  const conf = join(work, 'cached.json');
  strataOk(['conf', app, '--max-layers', '4', '-o', conf]);
  const first = strataOk(['stream', conf], { env: withCache(cache) }).stdoutBytes;
  const entries = readdirSync(join(cache, 'strata', 'layer-digests'));
  assert.equal(entries.length, 3);
  assert.ok(strataOk(['stream', conf], { env: withCache(cache) }).stdoutBytes.equals(first));
  // A corrupt entry is a miss, and is rewritten.
  writeFileSync(join(cache, 'strata', 'layer-digests', entries[0]!), '{"digest": 12');
  assert.ok(strataOk(['stream', conf], { env: withCache(cache) }).stdoutBytes.equals(first));
  assert.match(readFileSync(join(cache, 'strata', 'layer-digests', entries[0]!), 'utf8'), /^\{"digest":"sha256:[0-9a-f]{64}","size":\d+\}$/);
  // --no-cache neither reads nor writes it.
  const none = join(work, 'no-cache');
  strataOk(['stream', '--no-cache', conf], { env: withCache(none) });
  assert.throws(() => readdirSync(none));

  // A plain directory as store, rebuilt in place: new inode, so the cache misses.
  const store = join(work, 'store2');
  const path = join(store, 'bbbb-rebuilt');
  const build = (content: string): void => {
    rmSync(path, { recursive: true, force: true });
    mkdirSync(path, { recursive: true });
    writeFileSync(join(path, 'f'), content);
  };
  build('one\n');
  const graph = join(work, 'graph2.json');
  writeFileSync(graph, JSON.stringify([{ path, narSize: 4, references: [] }]));
  const conf2 = join(work, 'rebuilt.json');
  strataOk(['conf', '--graph', graph, '--store-dir', store, '-o', conf2]);
  const one = strataOk(['stream', conf2], { env: withCache(cache) }).stdoutBytes;
  build('two\n');
  const two = strataOk(['stream', conf2], { env: withCache(cache) });
  assert.equal(two.status, 0, two.stderr);
  assert.ok(!two.stdoutBytes.equals(one));
  assert.ok(strataOk(['stream', '--no-cache', conf2]).stdoutBytes.equals(two.stdoutBytes));

  // A file rewritten inside it, the path's inode and ctime unchanged (a store never does this): the cached digest is
  // belied, the run stops, and the entry goes, so the next run measures the layer again.
  const nixpkgsNames = ['stream', '--nixpkgs-names', conf2];
  writeFileSync(join(path, 'f'), 'TWO\n');
  const stale = strata(nixpkgsNames, { env: withCache(cache) });
  assert.equal(stale.status, 4, stale.stderr);
  assert.match(stale.stderr, /^strata: layer [0-9a-f]{64}\/layer\.tar \([^)]*bbbb-rebuilt\): content digest sha256:[0-9a-f]{64} instead of sha256:[0-9a-f]{64}, the digest cache's; [^\n]*the entry is dropped, so the next run measures the layer again \(--no-cache skips the cache\)\n$/);
  const healed = strata(nixpkgsNames, { env: withCache(cache) });
  assert.equal(healed.status, 0, healed.stderr);
  assert.ok(healed.stdoutBytes.equals(strataOk(['stream', '--no-cache', '--nixpkgs-names', conf2]).stdoutBytes));
});
