import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MessageChannel } from 'node:worker_threads';
import { checkWalkedPlatform } from '../../src/guard/platform-guard.js';
import { WalkThread } from '../../src/guard/walk-thread.js';
import { storeLayer } from '../../src/layer/store-layer.js';
import { fromColumns, toColumns } from '../../src/tar/member-columns.js';
import { TarType, tarHeader } from '../../src/tar/header.js';
import type { Member } from '../../src/tar/members.js';

const ATTRS = { mtime: 1, uid: 0, gid: 0, uname: 'root', gname: 'root' };
const AMD64 = { architecture: 'amd64', os: 'linux' };

/** A store directory with one path holding a name that is not UTF-8, a symlink, a FIFO and an empty directory. */
function oddStore(): { storeDir: string; path: string } {
  const storeDir = mkdtempSync(join(tmpdir(), 'strata-columns-'));
  const path = join(storeDir, `${'c'.repeat(32)}-odd`);
  mkdirSync(join(path, 'empty'), { recursive: true });
  const odd = Buffer.concat([Buffer.from(join(path, 'n')), Buffer.from([0xff])]);
  mkdirSync(odd);
  writeFileSync(Buffer.concat([odd, Buffer.from('/x')]), 'x');
  writeFileSync(join(path, 'r\ufffd'), 'r');
  symlinkSync(Buffer.concat([Buffer.from('n'), Buffer.from([0xff])]), join(path, 'link'));
  execFileSync('mkfifo', [join(path, 'fifo')]);
  return { storeDir, path };
}

/** `value` as another thread receives it (the structured clone postMessage makes). */
async function cloned<T>(value: T): Promise<T> {
  const { port1, port2 } = new MessageChannel();
  const received = new Promise<T>((resolve) => port2.once('message', resolve));
  port1.postMessage(value);
  try {
    return await received;
  } finally {
    port1.close();
  }
}

test('a walked layer\'s members as columns, sent to another thread: the same members, surrogate escapes, links and FIFOs included', async () => {
  const { storeDir, path } = oddStore();
  try {
    const members = storeLayer([path], storeDir, ATTRS).walkAhead(() => {}, Number.MAX_SAFE_INTEGER)!;
    assert.ok(members.some((m) => m.header.name.includes('\udcff')));
    assert.ok(members.some((m) => m.header.type === TarType.Symlink && m.header.linkname.includes('\udcff')));
    assert.ok(members.some((m) => m.header.type === TarType.Fifo));
    assert.deepEqual(fromColumns(await cloned(toColumns(members))), members);
  } finally {
    rmSync(storeDir, { recursive: true, force: true });
  }
});

test('columns keep what walked layers do not have: pax records, an entry at another path than its name, devices, other owners; and no members', async () => {
  const stat = { mode: 0o100644, size: 3, mtimeMs: 1.5, ctimeMs: 2.25, ino: 2 ** 40 + 1 };
  const members: Member[] = [
    { header: tarHeader({ name: 'nix', type: TarType.Directory, mode: 0o755 }) },
    { header: tarHeader({ name: 'etc/passwd', size: 3, uname: 'alice', gname: 'staff', uid: 1000, gid: 50, pax: new Map([['comment', 'x']]) }), entry: { path: '/tmp/passwd', stat } },
    { header: tarHeader({ name: 'dev/null', type: TarType.CharDevice, devmajor: 1, devminor: 3, mtime: 1.5 }) },
  ];
  assert.deepEqual(fromColumns(await cloned(toColumns(members))), members);
  assert.deepEqual(fromColumns(await cloned(toColumns([]))), []);
});

test('a layer walked by the walk thread is the layer walked here: same bytes, through surrogate escapes', async () => {
  const { storeDir, path } = oddStore();
  const thread = new WalkThread();
  try {
    const sha = async (chunks: Iterable<Buffer> | AsyncIterable<Buffer>) => {
      const h = createHash('sha256');
      for await (const c of chunks) h.update(c);
      return h.digest('hex');
    };
    const layers = [storeLayer([path], storeDir, ATTRS), storeLayer([path], storeDir, ATTRS)];
    const claims = thread.walk(layers, AMD64, Number.MAX_SAFE_INTEGER);
    // The thread claims from the last: once it has walked the first, it has walked them all.
    assert.ok(await claims.walked(0));
    const budget = { members: Number.MAX_SAFE_INTEGER };
    await checkWalkedPlatform(layers, AMD64, budget, claims);
    assert.equal(Number.MAX_SAFE_INTEGER - budget.members, 2 * storeLayer([path], storeDir, ATTRS).walkAhead(() => {}, Number.MAX_SAFE_INTEGER)!.length);
    const expected = await sha(storeLayer([path], storeDir, ATTRS).open());
    for (const layer of layers) assert.equal(await sha(layer.walk().open()), expected);
  } finally {
    thread.close();
    rmSync(storeDir, { recursive: true, force: true });
  }
});
