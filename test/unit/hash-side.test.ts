import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openOutput } from '../../src/output.js';
import { CHUNK } from '../../src/tar/chunked-tar.js';

test('a sink writing on its own thread has the reading thread hash a few big files to a pipe or device, the writing thread many small ones, and write a file\'s big ones for the thread to hash', async () => {
  // libllvm's store path: 110 MB in 6 files; perl-modules': 18 MB in 1200.
  const llvm = { size: 110e6, files: 6 };
  const perl = { size: 18.3e6, files: 1200 };
  const device = openOutput('/dev/null');
  assert.equal(device.sink.hashSide!(llvm), 'caller');
  assert.equal(device.sink.hashSide!(perl), 'writer');
  await device.commit();
  const dir = mkdtempSync(join(tmpdir(), 'strata-hash-side-'));
  try {
    const file = openOutput(join(dir, 'out'));
    // A file takes bytes faster than a pipe's reader: the caller writes big files itself and the thread hashes
    // them; many small ones are written and hashed by the thread.
    assert.equal(file.sink.hashSide!(llvm), 'hasher');
    assert.equal(file.sink.hashSide!(perl), 'writer');
    await file.abort();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a file sink hands back the digest of what was hashed, on either thread, layer after layer', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'strata-hash-side-'));
  try {
    const out = openOutput(join(dir, 'out'));
    const { sink } = out;
    const layers = [['writer', 3], ['caller', 2], ['hasher', 3], ['writer', 1], ['hasher', 1]] as const;
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
