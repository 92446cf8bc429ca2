import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, truncateSync, watch, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, strata } from '../helpers/cli.js';
import { tmpDir } from '../helpers/store.js';

// Bad output paths, a directory as -o, signals while an image is written:
// one line naming the user's path, an exit code by class, and nothing left
// behind. The images are made of a plain directory tree and a graph file,
// so no store is needed.

let work: string;
let graph: string;

test.before(() => {
  work = tmpDir('output-safety');
  const store = join(work, 'store');
  const app = join(store, 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-app');
  const lib = join(store, 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb-lib');
  mkdirSync(join(app, 'bin'), { recursive: true });
  mkdirSync(lib, { recursive: true });
  writeFileSync(join(app, 'bin', 'app'), '#!/bin/sh\necho app\n');
  // Sparse: writing it takes long enough for a signal to arrive mid-write, while it takes no disk.
  writeFileSync(join(lib, 'big'), '');
  truncateSync(join(lib, 'big'), 8 * 2 ** 30);
  graph = join(work, 'graph.json');
  writeFileSync(graph, JSON.stringify([
    { path: app, narSize: 100, references: [lib] },
    { path: lib, narSize: 8 * 2 ** 30, references: [] },
  ]));
});

const badInput = (r: { status: number; stderr: string }, path: string): void => {
  assert.equal(r.status, 2, r.stderr);
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.ok(lines[0]!.startsWith(`strata: ${path}: `), r.stderr);
  assert.doesNotMatch(r.stderr, /internal error|strata-\d+\.tmp/);
};

test('-o in a missing directory: exit 2 naming the path (plan, conf, report, render nix, render guix, image)', () => {
  const missing = join(work, 'no-such-dir', 'out');
  for (const args of [
    ['plan', '--graph', graph],
    ['conf', '--graph', graph, '--name', 'app'],
    ['report', '--graph', graph],
    ['render', 'nix', '--name', 'app'],
    ['render', 'guix', '--name', 'app', '--packages', 'hello'],
    ['image', '--graph', graph, '--name', 'app', '--no-cache'],
  ]) {
    const r = strata([...args, '-o', missing]);
    badInput(r, missing);
    assert.match(r.stderr, /ENOENT\); its directory does not exist/);
  }
});

test('--to under a file that is not a directory: exit 2 naming the destination (oci, oci-archive)', () => {
  badInput(strata(['image', '--graph', graph, '--name', 'app', '--no-cache', '--to', 'oci:/dev/null/x']), '/dev/null/x');
  badInput(strata(['image', '--graph', graph, '--name', 'app', '--no-cache', '--to', 'oci-archive:/dev/null/x.tar']), '/dev/null/x.tar');
});

test('-o naming a directory: refused before anything is written, the directory untouched', () => {
  const dir = join(work, 'a-directory');
  mkdirSync(dir);
  for (const args of [['image', '--graph', graph, '--name', 'app', '--no-cache'], ['plan', '--graph', graph]]) {
    const r = strata([...args, '-o', dir]);
    badInput(r, dir);
    assert.match(r.stderr, /is a directory/);
  }
  assert.deepEqual(readdirSync(dir), []);
  assert.deepEqual(readdirSync(work).filter((f) => f.includes('.strata-')), []);
});

for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143], ['SIGHUP', 129]] as const) {
  test(`${signal} while writing -o FILE: exit ${code}, no FILE and no temporary file left`, async () => {
    const dir = join(work, `signal-${signal}`);
    mkdirSync(dir);
    const out = join(dir, 'image.tar');
    // Wait for the temporary file itself, then interrupt.
    const watcher = watch(dir);
    const appeared = new Promise<void>((resolve) => watcher.on('change', (_, name) => String(name).startsWith('.image.tar.strata-') && resolve()));
    const child = spawn(process.execPath, [CLI, 'image', '--graph', graph, '--name', 'app', '--no-cache', '-o', out], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.on('exit', (c, s) => resolve([c, s])));
    await appeared;
    watcher.close();
    child.kill(signal);
    const [status, killedBy] = await exited;
    assert.deepEqual([status, killedBy], [code, null], stderr);
    assert.deepEqual(readdirSync(dir), []);
  });
}

test('a customisation directory holding layer.tar without checksum is refused, naming both readings', () => {
  const cust = join(work, 'customisation');
  mkdirSync(cust);
  writeFileSync(join(cust, 'layer.tar'), Buffer.alloc(10240));
  const r = strata(['image', '--graph', graph, '--name', 'app', '--no-cache', '--customisation', cust, '-o', join(work, 'c.tar')]);
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /holds a layer\.tar but no checksum: as a ready layer it needs both .*as a tree to pack it would put a file \/layer\.tar in the image/);
  assert.deepEqual(readdirSync(work).filter((f) => f.startsWith('c.tar') || f.startsWith('.c.tar')), []);
});

test('a plan file naming an unknown strategy is refused (not read as popularity)', () => {
  const plan = join(work, 'plan.json');
  writeFileSync(plan, JSON.stringify({ layers: [{ paths: ['/nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-app'], size: 1 }], strategy: 'sharde', maxLayers: 3 }));
  const r = strata(['conf', '--plan', plan, '--name', 'app']);
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /field 'strategy' is "sharde", not one of popularity, auto, size, shared/);
});
