import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openOutput } from '../../src/output.js';
import { CHUNK } from '../../src/tar/chunked-tar.js';

test('a file sink hands back the digest of what was hashed on its hashing thread, layer after layer', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'strata-hash-side-'));
  try {
    const out = openOutput(join(dir, 'out'));
    const { sink } = out;
    const layers = [3, 2, 1];
    const expected: string[] = [];
    const written: Buffer[] = [];
    for (const [i, chunks] of layers.entries()) {
      const sum = createHash('sha256');
      for (let c = 0; c < chunks; c++) {
        // Chunks of their own memory move to the writing thread: what is kept is a copy.
        const chunk = Buffer.alloc(CHUNK, i * 16 + c);
        sum.update(chunk);
        written.push(Buffer.from(chunk));
        await sink.handOver!(chunk, true);
      }
      // Not hashed: between layers, as a docker-archive's padding.
      const gap = Buffer.from('gap');
      written.push(gap);
      await sink.write(gap);
      expected.push(sum.digest('hex'));
      assert.equal(await sink.digest!(), expected[i], `layer ${i}`);
    }
    await out.commit();
    assert.ok(readFileSync(join(dir, 'out')).equals(Buffer.concat(written)));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
