import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { strata, strataOk } from '../helpers/cli.js';
import { buildFixture, tmpDir } from '../helpers/store.js';

let app: string;
let busybox: string;
let work: string;
let closure: { path: string; narSize: number }[];
let narSize: Map<string, number>;
const byName = (name: string): string => closure.find((p) => p.path.endsWith(`-${name}`))!.path;
const sum = (paths: string[]): number => paths.reduce((s, p) => s + narSize.get(p)!, 0);

interface Layer { index: number; paths: string[]; size: number | null; digest: string | null }
interface JsonDiff {
  old: { kind: string; layers: Layer[]; size: number | null };
  new: { kind: string; layers: Layer[]; size: number | null };
  matchedBy: string;
  layers: { kept: Layer[]; added: Layer[]; removed: Layer[] };
  paths: { added: string[]; removed: string[]; kept: number } | null;
  transfer: number | null;
  reused: number | null;
}

const diff = (a: string, b: string): JsonDiff => JSON.parse(strataOk(['diff', a, b, '--json']).stdout) as JsonDiff;
const pathsOf = (layers: Layer[]): string[][] => layers.map((l) => l.paths);

// Popularity at --max-layers 4: [data] [lib-b] [busybox lib-a app]; at 5: [data] [lib-b] [busybox] [lib-a app].
let data: string;
let libB: string;
let libA: string;
before(() => {
  app = buildFixture('app');
  busybox = buildFixture('busybox');
  work = tmpDir('strata-diff-test-');
  closure = JSON.parse(strataOk(['closure', app, '--json']).stdout) as { path: string; narSize: number }[];
  narSize = new Map(closure.map((p) => [p.path, p.narSize]));
  data = byName('data');
  libB = byName('lib-b');
  libA = byName('lib-a');
});

test('diff of two plans: layers kept, added and removed by their paths; the bytes to pull', () => {
  const old = join(work, 'plan4.json');
  const neu = join(work, 'plan5.json');
  strataOk(['plan', app, '--strategy', 'popularity', '--max-layers', '4', '--format', 'json', '-o', old]);
  strataOk(['plan', app, '--strategy', 'popularity', '--max-layers', '5', '--format', 'json', '-o', neu]);
  const d = diff(old, neu);
  assert.equal(d.matchedBy, 'paths');
  assert.deepEqual(pathsOf(d.layers.kept), [[data], [libB]]);
  assert.deepEqual(pathsOf(d.layers.added), [[busybox], [libA, app]]);
  assert.deepEqual(pathsOf(d.layers.removed), [[busybox, libA, app]]);
  assert.deepEqual(d.layers.added.map((l) => l.index), [3, 4]);
  assert.equal(d.transfer, sum([busybox, libA, app]));
  assert.equal(d.reused, sum([data, libB]));
  assert.deepEqual(d.paths, { added: [], removed: [], kept: 5 });

  const text = strataOk(['diff', old, neu]).stdout;
  assert.match(text, /\nlayers \(matched by exact set of store paths\): 2 kept, 2 added, 1 removed\n/);
  assert.ok(text.includes(`\npull or push of new after old: 1.9 MiB (${sum([busybox, libA, app])} bytes) in 2 layer(s); `), text);

  // Another image: busybox's plan keeps none of app's layers and drops four paths.
  const bb = join(work, 'busybox-plan.json');
  strataOk(['plan', busybox, '--strategy', 'popularity', '--format', 'json', '-o', bb]);
  const other = diff(old, bb);
  assert.deepEqual(pathsOf(other.layers.kept), []);
  assert.deepEqual(other.paths, { added: [], removed: [app, data, libA, libB].sort(), kept: 1 });
  assert.equal(other.transfer, narSize.get(busybox));
});

test('diff of two confs: the tar sizes of conf --digests, else the NAR sizes of this store', () => {
  const old = join(work, 'conf4.json');
  const neu = join(work, 'conf5.json');
  strataOk(['conf', app, '--strategy', 'popularity', '--max-layers', '4', '-o', old]);
  strataOk(['conf', app, '--strategy', 'popularity', '--max-layers', '5', '--digests', '-o', neu]);
  const conf5 = JSON.parse(strataOk(['conf', app, '--strategy', 'popularity', '--max-layers', '5', '--digests']).stdout) as { store_layer_digests: { digest: string; size: number }[] };
  const d = diff(old, neu);
  assert.equal(d.old.kind, 'conf');
  assert.equal(d.matchedBy, 'paths');
  assert.deepEqual(pathsOf(d.layers.kept), [[data], [libB]]);
  assert.deepEqual(pathsOf(d.layers.added), [[busybox], [libA, app]]);
  assert.equal(d.transfer, conf5.store_layer_digests[2]!.size + conf5.store_layer_digests[3]!.size);
  assert.deepEqual(d.layers.added.map((l) => l.digest), [conf5.store_layer_digests[2]!.digest, conf5.store_layer_digests[3]!.digest]);
  // The old conf has no digests: its layers weigh their paths' NAR sizes.
  assert.deepEqual(d.old.layers.map((l) => l.size), [sum([data]), sum([libB]), sum([busybox, libA, app])]);
});

test('diff of two images: layers matched by digest, the bytes of the blobs as stored', () => {
  const old = join(work, 'app4.tar');
  const neu = `oci:${join(work, 'layout')}:5`;
  strataOk(['image', app, '--strategy', 'popularity', '--max-layers', '4', '-o', old]);
  strataOk(['image', app, '--strategy', 'popularity', '--max-layers', '5', '--to', neu, '--compression', 'gzip']);
  const inspectOld = JSON.parse(strataOk(['inspect', old, '--json']).stdout) as { layers: { digest: string; diffId: string; size: number }[] };
  const inspectNew = JSON.parse(strataOk(['inspect', neu, '--json']).stdout) as { layers: { digest: string; diffId: string; size: number }[] };
  const d = diff(old, neu);
  assert.equal(d.matchedBy, 'digest');
  assert.deepEqual(d.layers.kept.map((l) => l.digest), [inspectOld.layers[0]!.diffId, inspectOld.layers[1]!.diffId]);
  assert.deepEqual(d.layers.kept.map((l) => l.digest), [inspectNew.layers[0]!.diffId, inspectNew.layers[1]!.diffId]);
  assert.deepEqual(pathsOf(d.layers.kept), [[data], [libB]]);
  assert.deepEqual(d.layers.removed.map((l) => l.digest), [inspectOld.layers[2]!.diffId]);
  // What a pull moves: the gzip blobs of the new layers 3 and 4.
  assert.equal(d.transfer, inspectNew.layers[2]!.size + inspectNew.layers[3]!.size);
  assert.ok(d.transfer! < sum([busybox, libA, app]), 'gzip blobs are smaller than the NARs');
  assert.deepEqual(d.paths, { added: [], removed: [], kept: 5 });

  // An image against a plan: matched by the store paths the image's history names.
  const plan = join(work, 'plan-for-image.json');
  strataOk(['plan', app, '--strategy', 'popularity', '--max-layers', '5', '--format', 'json', '-o', plan]);
  const mixed = diff(plan, old);
  assert.equal(mixed.matchedBy, 'paths');
  assert.deepEqual(pathsOf(mixed.layers.kept), [[data], [libB]]);
  assert.deepEqual(pathsOf(mixed.layers.added), [[busybox, libA, app]]);
  assert.equal(mixed.transfer, inspectOld.layers[2]!.size);
});

test('diff: bad input is one line naming it, exit 2', () => {
  const plan = join(work, 'plan-bad.json');
  strataOk(['plan', app, '--strategy', 'popularity', '--max-layers', '4', '--format', 'json', '-o', plan]);
  const other = join(work, 'other.json');
  writeFileSync(other, '{"name": "not a plan"}\n');
  const r = strata(['diff', other, plan]);
  assert.equal(r.status, 2);
  assert.equal(r.stderr, `strata: ${other}: a JSON object with neither 'layers' (a plan) nor 'store_layers' (a conf.json); expected a plan, a conf or an image\n`);
  const missing = strata(['diff', plan, join(work, 'missing.tar')]);
  assert.equal(missing.status, 2);
  assert.equal(missing.stderr, `strata: ${join(work, 'missing.tar')}: cannot open (ENOENT)\n`);
});
