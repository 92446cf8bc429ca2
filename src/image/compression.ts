import { Transform } from 'node:stream';
import { createGunzip, createGzip } from 'node:zlib';
import { createRequire } from 'node:module';
import { StrataError } from '../errors.js';
import { DOCKER_LAYER, OCI_LAYER } from '../model/media-types.js';

// Loaded on first use, so commands without zstd do not pay for the native module.
const zstd = (): typeof import('zstd-napi') => createRequire(import.meta.url)('zstd-napi');

export const COMPRESSIONS = ['none', 'gzip', 'zstd'] as const;
export type Compression = (typeof COMPRESSIONS)[number];


/** The OCI media type of a layer with this compression. */
export function layerMediaType(c: Compression): string {
  return c === 'none' ? OCI_LAYER : `${OCI_LAYER}+${c}`;
}

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
 * A compressing stream. Deterministic for the same input and level: gzip
 * headers carry no name and a zero mtime (zlib's own header), zstd runs
 * single-threaded (multi-threaded zstd output depends on timing).
 */
export function compressor(c: Compression, level?: number): Transform {
  if (c === 'gzip') {
    if (level !== undefined && !(level >= 0 && level <= 9)) throw new StrataError(`--compression-level ${level}: gzip takes 0 to 9`);
    return createGzip({ level: level ?? 6 });
  }
  if (c === 'zstd') {
    if (level !== undefined && !(level >= 1 && level <= 19)) throw new StrataError(`--compression-level ${level}: zstd takes 1 to 19`);
    return new (zstd().CompressStream)({ compressionLevel: level ?? 3, checksumFlag: false });
  }
  return new Transform({ transform: (chunk, _enc, done) => done(null, chunk) });
}

export function decompressor(c: Compression): Transform {
  if (c === 'gzip') return createGunzip();
  if (c === 'zstd') return new (zstd().DecompressStream)();
  return new Transform({ transform: (chunk, _enc, done) => done(null, chunk) });
}
