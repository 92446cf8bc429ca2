import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, linkSync, mkdirSync, symlinkSync, writeFileSync, openSync, closeSync, ftruncateSync } from 'node:fs';
import { join } from 'node:path';
import { strataOk } from '../helpers/cli.js';
import { REPO_ROOT, runTool, tmpDir, unpackImage } from '../helpers/store.js';

// Trees that trip tar writers, in a plain directory used as the store (it can
// hold what a Nix store cannot: FIFOs, devices, setuid bits). Python's
// tarfile and pathlib are the oracle for what nixpkgs' script would write.

let work: string;
let store: string;
before(() => {
  work = tmpDir('strata-hard-');
  store = join(work, 'store');
  mkdirSync(store);
});
const ORACLE = join(REPO_ROOT, 'test', 'oracles', 'tar-listing.py');

function conf(name: string, layers: string[][]): string {
  const file = join(work, `${name}.json`);
  writeFileSync(file, JSON.stringify({
    architecture: 'amd64', config: {}, created: '2024-02-03T04:05:06Z', mtime: '2024-02-03T04:05:06Z',
    uid: 1000, gid: 100, uname: 'builder', gname: 'users', store_dir: store, from_image: null,
    store_layers: layers, customisation_layer: null, repo_tag: `${name}:1`,
  }));
  return file;
}

function oracle(archive: string): { entries: number; mismatches: unknown[] }[] {
  const out = runTool('python3', [ORACLE, archive, store, String(Date.parse('2024-02-03T04:05:06Z') / 1000), '1000', '100', 'builder', 'users']).stdout;
  return out.trim().split('\n').map((l) => JSON.parse(l));
}

test('hard names, links, modes and special files round-trip exactly', () => {
  const root = join(store, 'hhhh-hard');
  const deep = join(root, 'deep', ...Array.from({ length: 12 }, (_, i) => `level-${i}-${'d'.repeat(20)}`));
  mkdirSync(deep, { recursive: true });
  writeFileSync(join(deep, 'file-at-the-bottom'), 'deep\n');
  const names = ['n'.repeat(100), 'm'.repeat(101), 'x'.repeat(255), 'with space', 'new\nline', 'back\\slash', 'café', '日本語', 'emoji-😀', 'quote\'s "both"'];
  mkdirSync(join(root, 'names'));
  for (const n of names) writeFileSync(join(root, 'names', n), `${n}\n`);
  // A name that is not UTF-8 at all: the bytes f, 0xff, 0xfe.
  writeFileSync(Buffer.concat([Buffer.from(join(root, 'names') + '/f'), Buffer.from([0xff, 0xfe])]), 'latin junk\n');
  writeFileSync(join(root, 'hard-a'), 'linked\n');
  linkSync(join(root, 'hard-a'), join(root, 'hard-b'));
  symlinkSync('t'.repeat(300), join(root, 'long-target'));
  symlinkSync('../deep', join(root, 'relative-link'));
  mkdirSync(join(root, 'empty-dir'));
  writeFileSync(join(root, 'empty-file'), '');
  writeFileSync(join(root, 'setuid'), '#!/bin/sh\n');
  chmodSync(join(root, 'setuid'), 0o4755);
  writeFileSync(join(root, 'setgid'), '');
  chmodSync(join(root, 'setgid'), 0o2711);
  mkdirSync(join(root, 'sticky'));
  chmodSync(join(root, 'sticky'), 0o1777);
  mkdirSync(join(root, 'read-only'));
  writeFileSync(join(root, 'read-only', 'inside'), 'ro\n');
  chmodSync(join(root, 'read-only'), 0o555);
  runTool('mkfifo', [join(root, 'fifo')]);
  runTool('mknod', [join(root, 'null-device'), 'c', '1', '3']);
  mkdirSync(join(root, 'many'));
  for (let i = 0; i < 3000; i++) writeFileSync(join(root, 'many', `f${i}`), `${i}`);
  const small = join(store, 'aaaa-small');
  mkdirSync(small);
  writeFileSync(join(small, 'x'), 'x');
  const linkPath = join(store, 'llll-store-path-symlink');
  symlinkSync(small, linkPath);

  const archive = join(work, 'hard.tar');
  strataOk(['stream', conf('hard', [[root], [linkPath, small]]), '-o', archive]);
  const layers = oracle(archive);
  assert.equal(layers.length, 2);
  for (const l of layers) assert.deepEqual(l.mismatches, []);
  assert.ok(layers[0]!.entries > 3000);
  // The store directory and its parents, the symlink alone, then the path and its file.
  assert.equal(layers[1]!.entries, store.split('/').length - 1 + 1 + 2);
  // GNU tar reads the layers too, and skopeo + umoci unpack them.
  runTool('tar', ['-tf', archive]);
  const unpacked = unpackImage(archive);
  const diff = runTool('diff', ['-r', '--no-dereference', root, join(unpacked.rootfs, root)], { allowFailure: true });
  // diff cannot compare special files; it only reports that both sides have them.
  assert.equal(diff.stdout.split('\n').filter((l) => l && !/is a (fifo|character special file) while file .* is a \1$/.test(l)).join('\n'), '');
});

test('a file over 8 GiB (pax size) streams through', () => {
  const root = join(store, 'bbbb-big');
  mkdirSync(root);
  const fd = openSync(join(root, 'sparse'), 'w');
  ftruncateSync(fd, 8 * 1024 ** 3 + 1);
  closeSync(fd);
  // Through a pipe into GNU tar: no temporary copy of 16 GiB.
  const r = spawnSync('bash', ['-c', `set -o pipefail; "${process.execPath}" "${join(REPO_ROOT, 'dist', 'cli.js')}" stream "${conf('big', [[root]])}" | tar -xOf - --wildcards '*/layer.tar' | tar -tvf - | grep sparse`], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, / 8589934593 2024-02-03 04:05 /);
});
