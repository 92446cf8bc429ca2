import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI } from '../helpers/cli.js';
import { nixEnv, tmpDir } from '../helpers/store.js';

// A conf or plan of 200 000 layers naming bad store paths is refused in
// one line, and the process then exits by itself: nothing (a worker, a
// cache read, a timer) keeps it alive. The time it takes is bench/run.mjs's
// business; the timeout below only turns a hang into a failure.

const LAYERS = 200_000;
const STORE = '/nix/store';
let work: string;
const out = (): string => join(work, 'out.tar');

function writeJson(name: string, value: unknown): string {
  const file = join(work, name);
  writeFileSync(file, JSON.stringify(value));
  return file;
}

function conf(name: string, path: (i: number) => string): string {
  return writeJson(name, {
    architecture: 'amd64', config: {}, created: '1970-01-01T00:00:01Z', mtime: '1970-01-01T00:00:01Z', from_image: null, customisation_layer: null,
    store_dir: STORE, store_layers: Array.from({ length: LAYERS }, (_, i) => [path(i)]), repo_tag: 'large:1', uid: 0, gid: 0, uname: 'root', gname: 'root',
  });
}

function strata(args: string[]): { status: number | null; signal: NodeJS.Signals | null; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { env: nixEnv(), encoding: 'utf8', timeout: 600_000, maxBuffer: 1 << 26 });
  return { status: r.status, signal: r.signal, stderr: r.stderr };
}

function refused(args: string[], status: number, message: RegExp): void {
  const r = strata(args);
  assert.equal(r.signal, null, `strata ${args[0]} exited by itself after its error (it was killed: it kept running)`);
  assert.equal(r.status, status, r.stderr);
  assert.match(r.stderr, /^strata: [^\n]+\n$/);
  assert.match(r.stderr, message);
  assert.equal(existsSync(out()), false);
}

before(() => {
  work = tmpDir('strata-large-conf-');
});

test('a conf of 200 000 layers of missing store paths: exit 4, the first three named and the rest counted', () => {
  const missing = conf('missing.json', (i) => `${STORE}/${'x'.repeat(32)}-missing-${i}`);
  refused(['stream', missing, '-o', out()], 4, /^strata: \/nix\/store\/x{32}-missing-0, \/nix\/store\/x{32}-missing-1, \/nix\/store\/x{32}-missing-2 \(\+199997 more\): no such file; is the store path on this machine/);
});

test('a conf of 200 000 layers outside the store directory: exit 2, the first one named', () => {
  const outside = conf('outside.json', (i) => `/tmp/${'x'.repeat(32)}-outside-${i}`);
  refused(['stream', outside, '-o', out()], 2, /store path '\/tmp\/x{32}-outside-0' is not inside the store directory \/nix\/store/);
});

test('a plan of 200 000 layers whose last path is no store path: conf and image refuse it (exit 2), naming the layer', () => {
  const layers = Array.from({ length: LAYERS }, (_, i) => ({ paths: [i === LAYERS - 1 ? '/tmp/elsewhere' : `${STORE}/${'x'.repeat(32)}-planned-${i}`], size: 4096 }));
  const plan = writeJson('plan.json', { layers, strategy: 'shared', maxLayers: LAYERS + 1, storeDir: STORE });
  const message = /plan\.json: layer 200000: '\/tmp\/elsewhere' is not a store path in \/nix\/store/;
  refused(['conf', '--plan', plan, '-o', join(work, 'conf.json')], 2, message);
  assert.equal(existsSync(join(work, 'conf.json')), false);
  refused(['image', '--plan', plan, '-o', out()], 2, message);
});
