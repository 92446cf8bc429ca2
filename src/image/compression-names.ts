import { OCI_LAYER } from '../model/media-types.js';

// The layer compressions by name and media type, apart from the streams
// that compress (threads, zlib, zstd): every command's options name them,
// and a run that compresses nothing should not load those.

export const COMPRESSIONS = ['none', 'gzip', 'zstd'] as const;
export type Compression = (typeof COMPRESSIONS)[number];

/**
 * Levels when none is given. gzip 1: on a 386 MB postgresql-15 closure its
 * blobs are 1.04x skopeo's for 0.7x level 4's CPU, and a first push is
 * bound by CPU (the registry's too) on a small machine.
 */
export const DEFAULT_LEVEL = { gzip: 1, zstd: 3 } as const;

/** The OCI media type of a layer with this compression. */
export function layerMediaType(c: Compression): string {
  return c === 'none' ? OCI_LAYER : `${OCI_LAYER}+${c}`;
}
