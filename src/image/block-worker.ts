import { parentPort } from 'node:worker_threads';
import { constants, crc32, deflateRawSync } from 'node:zlib';

// Deflates one gzip block per message for image/block-compression.ts. A block's
// output depends on its bytes, the level, its dictionary and whether it is
// the last: never on which thread or when.

export type BlockJob = { id: number; level: number; data: Uint8Array; dictionary?: Uint8Array; last: boolean };
export type BlockResult = { id: number; out: Uint8Array; crc: number; input: ArrayBuffer } | { id: number; error: string };

// Below this Node may cut a buffer from its shared pool; chunkSize is at least this.
const OWN = 64 * 1024;

parentPort!.on('message', (job: BlockJob) => {
  try {
    // Raw deflate primed with the previous block's tail, ending byte-aligned
    // (sync flush) so the next block's deflate data follows it in one stream.
    // The fast levels (1-3) with memLevel 9 (zlib's default is 8): a bigger hash table, 11% less CPU at level 1;
    // the lazy levels keep 8, which gives them smaller output. Part of the bytes' identity (see compressionId).
    const out = deflateRawSync(job.data, {
      level: job.level,
      memLevel: job.level <= 3 ? 9 : 8,
      finishFlush: job.last ? constants.Z_FINISH : constants.Z_SYNC_FLUSH,
      // Room for the whole output in one piece (deflate grows stored data by a few bytes per 16 KiB), which is
      // handed over as it is: no joining of pieces, no copy. The bytes do not depend on it.
      chunkSize: Math.max(job.data.length + (job.data.length >> 10) + 1024, OWN),
      ...(job.dictionary ? { dictionary: job.dictionary } : {}),
    });
    const crc = crc32(job.data);
    // Memory of its own (never a slice of Node's shared pool of small buffers) moves whole.
    const copy = out.byteOffset === 0 && out.buffer.byteLength >= OWN ? out : Uint8Array.prototype.slice.call(out);
    // The block's memory goes back too, to be filled again (see GzipBlocks).
    const input = job.data.buffer as ArrayBuffer;
    parentPort!.postMessage({ id: job.id, out: copy, crc, input } satisfies BlockResult, [copy.buffer as ArrayBuffer, input]);
  } catch (e) {
    parentPort!.postMessage({ id: job.id, error: (e as Error).message } satisfies BlockResult);
  }
});
