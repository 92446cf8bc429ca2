import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { storeLayer } from '../../src/layer/store-layer.js';
import { encodeHeader, tarHeader } from '../../src/tar/header.js';
import { strataOk } from '../helpers/cli.js';
import { bigSparseTree, hardTree } from '../helpers/hard-tree.js';
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
  const { root, small, linkPath } = hardTree(store);

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

test('a file over 8 GiB (pax size): its layer is as long as the metadata walk says, and GNU tar reads its header and the archive member holding the layer', () => {
  const root = bigSparseTree(store);
  const attrs = { mtime: Date.parse('2024-02-03T04:05:06Z') / 1000, uid: 1000, gid: 100, uname: 'builder', gname: 'users' };
  const layer = storeLayer([root], store, attrs);
  // The layer's bytes read once, in-process: `strata stream` would read the
  // file twice (hashed ahead, then sent) and a pipe into tar copy it thrice more.
  const HEAD = 64 * 1024;
  const head: Buffer[] = [];
  let kept = 0;
  let length = 0;
  for (const chunk of layer.open() as Iterable<Buffer>) {
    if (kept < HEAD) {
      // Copied: the layer reuses its chunks.
      const part = Buffer.from(chunk.subarray(0, HEAD - kept));
      head.push(part);
      kept += part.length;
    }
    length += chunk.length;
  }
  assert.equal(length, layer.tarSize());
  assert.ok(length > 8 * 1024 ** 3);
  // GNU tar lists the member from its headers, then finds the data cut off (only the head was kept).
  const listed = (bytes: Buffer) => {
    // On a pipe, so tar reads on to the cut rather than seeking past it.
    const r = runTool('tar', ['-tvf', '-'], { input: bytes, allowFailure: true, env: { ...process.env, TZ: 'UTC' } });
    assert.match(r.stderr, /Unexpected EOF in archive/);
    return r.stdout;
  };
  assert.match(listed(Buffer.concat(head)), /^-rw-r--r-- builder\/users 8589934593 2024-02-03 04:05 .*\/bbbb-big\/sparse$/m);
  // The docker-archive member holding the layer is over 8 GiB too; its header as the sink encodes it.
  const member = encodeHeader(tarHeader({ name: `${'0'.repeat(64)}/layer.tar`, size: length, mtime: attrs.mtime }));
  assert.match(listed(member), new RegExp(`^-rw-r--r-- 0/0 +${length} 2024-02-03 04:05 0{64}/layer\\.tar$`, 'm'));
});
