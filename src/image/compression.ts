import { Transform } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { createRequire } from 'node:module';
import { StrataError } from '../errors.js';
import { DOCKER_LAYER, OCI_LAYER } from '../model/media-types.js';
import { blockCompressor, prepareZstd, startGzipThreads } from './block-compression.js';
import { type Compression, DEFAULT_LEVEL } from './compression-names.js';

export { type Compression, layerMediaType } from './compression-names.js';

// Loaded on first use, so commands without zstd do not pay for the native module.
const zstd = (): typeof import('zstd-napi') => createRequire(import.meta.url)('zstd-napi');

/** The compression a layer media type (OCI or Docker) implies. */
export function compressionOf(mediaType: string): Compression {
  if (/\+gzip$|\.tar\.gzip$/.test(mediaType)) return 'gzip';
  if (/\+zstd$|\.tar\.zstd$/.test(mediaType)) return 'zstd';
  if (mediaType === OCI_LAYER || mediaType === DOCKER_LAYER) return 'none';
  throw new StrataError(`layer media type ${mediaType} is not a tar layer strata knows (tar, tar+gzip, tar+zstd)`);
}

/** Compression of some bytes, from their magic number. */
export function sniffCompression(head: Buffer): Compression {
  if (head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.readUInt32LE(0) === 0xfd2fb528) return 'zstd';
  return 'none';
}

/**
 * A compressing stream on every core (see block-compression.ts): its bytes
 * depend on the compression and level alone, never on the machine.
 */
export function compressor(c: Compression, level?: number): Transform {
  if (c === 'none') return new Transform({ transform: (chunk, _enc, done) => done(null, chunk) });
  return blockCompressor({ kind: c, level: compressionLevel(c, level) });
}

/** Start the threads compressors of `c` run on, while the caller does other work before the first one is made. */
export function prepareCompressor(c: Compression): void {
  if (c === 'gzip') startGzipThreads();
  else if (c === 'zstd') prepareZstd();
}

/** The level a compressor uses: the one given, else the default. */
export function compressionLevel(c: Exclude<Compression, 'none'>, level?: number): number {
  return level ?? DEFAULT_LEVEL[c];
}

export function decompressor(c: Compression): Transform {
  if (c === 'gzip') return createGunzip();
  if (c === 'zstd') return new (zstd().DecompressStream)();
  return new Transform({ transform: (chunk, _enc, done) => done(null, chunk) });
}
