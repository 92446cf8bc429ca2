import { createRequire } from 'node:module';
import { parentPort } from 'node:worker_threads';
import { constants, crc32, deflateRawSync } from 'node:zlib';

// Compresses one block per message for image/block-compression.ts. A block's
// output depends on its bytes, the level, its dictionary and whether it is
// the last: never on which thread or when.

export type BlockJob = { id: number; kind: 'gzip' | 'zstd'; level: number; data: Uint8Array; dictionary?: Uint8Array; last: boolean };
export type BlockResult = { id: number; out: Uint8Array; crc: number } | { id: number; error: string };

const zstd = (): typeof import('zstd-napi') => createRequire(import.meta.url)('zstd-napi');
let zstdCompressor: import('zstd-napi').Compressor | undefined;

function compress(job: BlockJob): Uint8Array {
  if (job.kind === 'gzip') {
    // Raw deflate primed with the previous block's tail, ending byte-aligned
    // (sync flush) so the next block's deflate data follows it in one stream.
    return deflateRawSync(job.data, {
      level: job.level,
      finishFlush: job.last ? constants.Z_FINISH : constants.Z_SYNC_FLUSH,
      ...(job.dictionary ? { dictionary: job.dictionary } : {}),
    });
  }
  // One zstd frame per block: decoders read concatenated frames as one stream.
  if (!zstdCompressor) zstdCompressor = new (zstd().Compressor)();
  zstdCompressor.setParameters({ compressionLevel: job.level, checksumFlag: false, contentSizeFlag: true });
  return zstdCompressor.compress(job.data);
}

parentPort!.on('message', (job: BlockJob) => {
  try {
    const out = compress(job);
    const crc = job.kind === 'gzip' ? crc32(job.data) : 0;
    // Node's pool may hold small outputs: hand over only memory of their own.
    const own = out.byteOffset === 0 && out.buffer.byteLength === out.length;
    const copy = own ? out : Uint8Array.prototype.slice.call(out);
    parentPort!.postMessage({ id: job.id, out: copy, crc } satisfies BlockResult, [copy.buffer as ArrayBuffer]);
  } catch (e) {
    parentPort!.postMessage({ id: job.id, error: (e as Error).message } satisfies BlockResult);
  }
});
