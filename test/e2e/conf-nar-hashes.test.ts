import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { strata, strataOk } from '../helpers/cli.js';
import { buildFixture, graphFiles, queryRequisites, skopeoInspectRaw, tmpDir } from '../helpers/store.js';

// A conf carries its store paths' NAR hashes (`nar_hashes`), so `strata
// stream` keys its layers as `strata image` does, on any machine.

const KEY = 'dev.strata.layer.key';
let app: string;
let work: string;

before(() => {
  app = buildFixture('app');
  work = tmpDir('strata-conf-nar-hashes-');
});

const options = (): string[] => ['--name', 'app', '--max-layers', '4', '--entrypoint', `${app}/bin/hello`, '--uid', '1000'];
/** Each layer's key annotation in an OCI layout (undefined for an unkeyed layer). */
const keysOf = (layout: string): (string | undefined)[] => skopeoInspectRaw(`oci:${layout}:1`).layers.map((l: any) => l.annotations?.[KEY]);

test('strata conf records the closure\'s NAR hashes; streaming the conf gives the keys strata image gives', () => {
  const conf = join(work, 'c.json');
  strataOk(['conf', app, ...options(), '-o', conf]);
  const written = JSON.parse(readFileSync(conf, 'utf8'));
  const paths: string[] = written.store_layers.flat();
  assert.deepEqual(Object.keys(written.nar_hashes), [...paths].sort(), 'every store path of the layers, sorted');
  assert.deepEqual(paths.sort(), queryRequisites(app).sort());
  for (const h of Object.values(written.nar_hashes)) assert.match(h as string, /^sha256:[0-9a-f]{64}$/);

  strataOk(['stream', conf, '--to', `oci:${join(work, 'streamed')}:1`]);
  strataOk(['image', app, ...options(), '--to', `oci:${join(work, 'built')}:1`]);
  const streamed = keysOf(join(work, 'streamed'));
  assert.ok(written.store_layers.length > 1);
  assert.equal(streamed.length, written.store_layers.length);
  assert.ok(streamed.every((k) => k !== undefined && /^sha256:[0-9a-f]{64}$/.test(k)), 'every store layer keyed');
  assert.deepEqual(streamed, keysOf(join(work, 'built')));
});

test('a structured-attrs graph (.attrs.json, as nix/\'s conf derivation reads) gives the Nix database\'s hashes', () => {
  const fromDb = JSON.parse(readFileSync(join(work, 'c.json'), 'utf8')).nar_hashes;
  const fromGraph = JSON.parse(strataOk(['conf', '--graph', graphFiles('app').attrsJson, ...options()]).stdout).nar_hashes;
  assert.deepEqual(fromGraph, fromDb);
});

test('a store layer keyed by nar_hashes keeps its key when its files are other files (a copy); without them the key changes', () => {
  const conf = JSON.parse(readFileSync(join(work, 'c.json'), 'utf8'));
  const store = join(work, 'store');
  const moved = (p: string): string => store + p.slice('/nix/store'.length);
  const paths: string[] = conf.store_layers.flat();
  const copy = (): void => {
    for (const p of paths) cpSync(p, moved(p), { recursive: true, verbatimSymlinks: true, preserveTimestamps: true });
  };
  const own = {
    ...conf,
    store_dir: store,
    store_layers: conf.store_layers.map((l: string[]) => l.map(moved)),
    nar_hashes: Object.fromEntries(Object.entries(conf.nar_hashes).map(([p, h]) => [moved(p), h])),
  };
  const bare = { ...own, nar_hashes: undefined };
  writeFileSync(join(work, 'own.json'), JSON.stringify(own));
  writeFileSync(join(work, 'bare.json'), JSON.stringify(bare));
  const stream = (name: string, layout: string): (string | undefined)[] => {
    strataOk(['stream', join(work, name), '--allow-foreign-binaries', '--to', `oci:${join(work, layout)}:1`]);
    return keysOf(join(work, layout));
  };

  copy();
  const [hashed1, bare1] = [stream('own.json', 'own-1'), stream('bare.json', 'bare-1')];
  // The first copy stays (renamed) so the second one's files are surely other inodes.
  renameSync(store, `${store}-old`);
  copy();
  const [hashed2, bare2] = [stream('own.json', 'own-2'), stream('bare.json', 'bare-2')];
  assert.ok(hashed1.every((k) => k !== undefined));
  assert.deepEqual(hashed2, hashed1, 'NAR hashes: the same keys for other files with the same contents');
  for (const [i, k] of bare1.entries()) assert.notEqual(bare2[i], k, `layer ${i}: without hashes the key is the files' identity`);
  assert.deepEqual(skopeoInspectRaw(`oci:${join(work, 'own-2')}:1`).layers.map((l: any) => l.digest), skopeoInspectRaw(`oci:${join(work, 'own-1')}:1`).layers.map((l: any) => l.digest));
});

test('a conf whose nar_hashes names a path in no store layer, or a malformed hash, is refused in one line naming the conf (exit 2)', () => {
  const conf = JSON.parse(readFileSync(join(work, 'c.json'), 'utf8'));
  const [first] = Object.keys(conf.nar_hashes);
  const cases: [string, Record<string, unknown>, RegExp][] = [
    ['stranger.json', { ...conf.nar_hashes, '/nix/store/00000000000000000000000000000000-stranger': conf.nar_hashes[first!] }, /stranger\.json: field 'nar_hashes' names '\/nix\/store\/0+-stranger', which is in no store layer/],
    ['malformed.json', { ...conf.nar_hashes, [first!]: 'md5:abc' }, /malformed\.json: field 'nar_hashes': the hash of '.*' must be a sha256 NAR hash/],
    ['list.json', [] as unknown as Record<string, unknown>, /list\.json: field 'nar_hashes' must be an object/],
  ];
  for (const [name, hashes, message] of cases) {
    writeFileSync(join(work, name), JSON.stringify({ ...conf, nar_hashes: hashes }));
    const r = strata(['stream', join(work, name), '--to', `oci:${join(work, 'refused')}:1`]);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, message);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  }
});
