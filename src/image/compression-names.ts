import { OCI_LAYER } from '../model/media-types.js';

// The layer compressions by name and media type, apart from the streams
// that compress (threads, zlib, zstd): every command's options name them,
// and a run that compresses nothing should not load those.

export const COMPRESSIONS = ['none', 'gzip', 'zstd'] as const;
export type Compression = (typeof COMPRESSIONS)[number];

/** The OCI media type of a layer with this compression. */
export function layerMediaType(c: Compression): string {
  return c === 'none' ? OCI_LAYER : `${OCI_LAYER}+${c}`;
}
