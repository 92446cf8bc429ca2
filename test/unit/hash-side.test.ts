import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openOutput } from '../../src/output.js';
import { CHUNK } from '../../src/tar/chunked-tar.js';

/** A walked tar's length and file sizes, as plan reads them: `files` files of `each` bytes, headers and padding left out. */
const tar = (...groups: [files: number, each: number][]): { size: number; sizes(): number[] } => ({
  size: groups.reduce((sum, [files, each]) => sum + files * each, 0),
  sizes: () => groups.flatMap(([files, each]) => Array<number>(files).fill(each)),
});

test('a sink writing on its own thread plans each tar so that its two threads have as much to do: who hashes, who reads the big files', async () => {
  // libllvm's store path: 110 MB in 6 files; perl-modules': 18 MB in 1200.
  const llvm = tar([6, 18.3e6]);
  const perl = tar([1200, 15e3]);
  const device = openOutput('/dev/null');
  // To a pipe or device, writing is slow: the reading thread hashes a few big files, the writing thread many small ones.
  assert.deepEqual(device.sink.plan!(llvm), { hash: 'caller', from: Infinity });
  assert.deepEqual(device.sink.plan!(perl), { hash: 'writer', from: Infinity });
  await device.commit();
  const dir = mkdtempSync(join(tmpdir(), 'strata-hash-side-'));
  try {
    const file = openOutput(join(dir, 'out'));
    // A file takes bytes faster than a pipe's reader: its writing thread has time to hash.
    assert.deepEqual(file.sink.plan!(llvm), { hash: 'writer', from: Infinity });
    await file.abort();
    // Many small files keep the calling thread busy: the writing thread hashes, and reads the two big files itself (not those under 256 KiB).
    const mixed = openOutput(join(dir, 'mixed'));
    assert.deepEqual(mixed.sink.plan!(tar([2, 8 << 20], [2000, 4096], [3, 200 << 10])), { hash: 'writer', from: 8 << 20 });
    await mixed.abort();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a file sink hands back the digest of what was hashed, on either thread, layer after layer', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'strata-hash-side-'));
  try {
    const out = openOutput(join(dir, 'out'));
    const { sink } = out;
    const layers = [['writer', 3], ['caller', 2], ['writer', 1]] as const;
    const expected: string[] = [];
    const written: Buffer[] = [];
    for (const [i, [side, chunks]] of layers.entries()) {
      const sum = createHash('sha256');
      for (let c = 0; c < chunks; c++) {
        // Chunks of their own memory move to the writing thread: what is kept is a copy.
        const chunk = Buffer.alloc(CHUNK, i * 16 + c);
        sum.update(chunk);
        written.push(Buffer.from(chunk));
        await sink.handOver!(chunk, side);
      }
      // Not hashed: between layers, as a docker-archive's padding.
      const gap = Buffer.from('gap');
      written.push(gap);
      await sink.write(gap);
      expected.push(sum.digest('hex'));
      assert.equal(await sink.digest!(), expected[i], `layer ${i} hashed by the ${side}`);
    }
    await out.commit();
    assert.ok(readFileSync(join(dir, 'out')).equals(Buffer.concat(written)));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
