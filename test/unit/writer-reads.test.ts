/**
 * Files of a walked layer read by the thread that writes the output: the
 * same bytes and digest whichever thread reads which file, and a file that
 * is not as the walk listed it when the writing thread reads it stops the
 * output (exit 4, the messages of a read on the main thread) and leaves no file.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, truncateSync, unlinkSync, writeFileSync, writeSync, closeSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExitCode, StrataError } from '../../src/errors.js';
import { storeLayer } from '../../src/layer/store-layer.js';
import { openOutput } from '../../src/output.js';

const attrs = { mtime: 1, uid: 0, gid: 0, uname: 'root', gname: 'root' };

/** A store of one path: files around the chunk size and the writing thread's buffer, small ones between them. */
function store(): { dir: string; storeDir: string; path: string } {
  const dir = mkdtempSync(join(tmpdir(), 'strata-writer-reads-'));
  const storeDir = join(dir, 'store');
  const path = join(storeDir, `${'a'.repeat(32)}-files`);
  mkdirSync(join(path, 'sub'), { recursive: true });
  const sizes: [string, number][] = [['a-big', (3 << 20) + 777], ['b-small', 100], ['c-empty', 0], ['d-chunk', 1 << 20], ['sub/e-odd', (1 << 20) - 3], ['sub/f-tiny', 1], ['z-last', 300_000]];
  for (const [i, [name, size]] of sizes.entries()) {
    const bytes = Buffer.alloc(size);
    for (let j = 0; j < size; j += 4096) bytes[j] = (i * 31 + j) & 0xff;
    writeFileSync(join(path, name), bytes);
  }
  return { dir, storeDir, path };
}

/** The layer sent to a file output as a sink writing on its own thread takes it: files of `from` bytes and more read by that thread. */
async function sendTo(target: string, layer: ReturnType<typeof storeLayer>, from: number): Promise<{ digest: string; reads: number }> {
  const out = openOutput(target);
  const { sink } = out;
  const walked = layer.walk();
  let reads = 0;
  try {
    for await (const part of walked.parts(from)) {
      if (!Buffer.isBuffer(part)) reads++;
      // Read there, so hashed there.
      await sink.handOver!(part, from === Infinity ? 'caller' : 'writer');
    }
    const digest = await sink.digest!();
    await out.commit();
    return { digest, reads };
  } catch (e) {
    await out.abort();
    throw e;
  }
}

test('the same bytes and digest whichever thread reads which file', async () => {
  const { dir, storeDir, path } = store();
  try {
    const tar = Buffer.concat([...(storeLayer([path], storeDir, attrs).open() as Iterable<Buffer>)]);
    const expected = createHash('sha256').update(tar).digest('hex');
    // None, the big ones, every file with content.
    for (const [from, reads] of [[Infinity, 0], [1 << 20, 2], [1, 6]] as const) {
      const target = join(dir, `out-${from}.tar`);
      const got = await sendTo(target, storeLayer([path], storeDir, attrs), from);
      assert.equal(got.reads, reads, `files of ${from} bytes and more`);
      assert.equal(got.digest, expected, `files of ${from} bytes and more`);
      assert.ok(readFileSync(target).equals(tar), `files of ${from} bytes and more`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a file not as listed when the writing thread reads it stops the output: exit 4, the main thread\'s message, no file left', async () => {
  const changes: [string, (file: string) => void, RegExp][] = [
    ['shrank', (f) => truncateSync(f, 1000), /a-big: file shrank while being read \(expected 3146505 bytes\); is something modifying the store\?$/],
    ['grew', (f) => appendFileSync(f, 'more'), /a-big: changed while the image was written; is something modifying the store\?$/],
    [
      'edited in place, same size',
      (f) => {
        const fd = openSync(f, 'r+');
        writeSync(fd, Buffer.from('edited'), 0, 6, 5000);
        closeSync(fd);
      },
      /a-big: changed while the image was written; is something modifying the store\?$/,
    ],
    ['removed', (f) => unlinkSync(f), /a-big: cannot read \(ENOENT\)$/],
  ];
  for (const [what, change, message] of changes) {
    const { dir, storeDir, path } = store();
    try {
      const layer = storeLayer([path], storeDir, attrs);
      const walk = layer.walk.bind(layer);
      // Changed right after its walk, before anything is read.
      layer.walk = () => {
        const walked = walk();
        change(join(path, 'a-big'));
        return walked;
      };
      const target = join(dir, 'out', 'image.tar');
      mkdirSync(join(dir, 'out'));
      await assert.rejects(sendTo(target, layer, 1 << 20), (e: unknown) => e instanceof StrataError && e.exitCode === ExitCode.Integrity && message.test(e.message), what);
      assert.equal(existsSync(target), false, what);
      assert.deepEqual(readdirSync(join(dir, 'out')), [], what);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
});
