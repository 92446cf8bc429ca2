import type { LayerRecipe } from '../layer/recipe.js';
import type { TarHeader } from '../tar/header.js';
import type { FileFingerprints } from '../tar/walk.js';

/**
 * One layer of an image: an uncompressed tar that can be produced more than
 * once (sinks that need the digest before the bytes read it twice, unless the
 * digest is known).
 */
export interface Layer {
  /** What the layer holds, for the image history ("store paths: [...]"). */
  contents: string[];
  /**
   * Digest ("sha256:<hex>") of the uncompressed tar, when known without
   * reading it; and its size, unless it comes from a compressed blob.
   */
  known?: { digest: string; size?: number };
  /** Attributes of the layer's member in a docker-archive, where they come from a file. */
  member?: Partial<Pick<TarHeader, 'name' | 'mode' | 'uid' | 'gid' | 'uname' | 'gname' | 'mtime' | 'pax'>>;
  /** The tar bytes. */
  open(): Bytes;
  /**
   * What determines the tar bytes, for layers whose digest can be cached
   * across runs (see layer/digest-cache.ts).
   */
  cacheKey?(): string;
  /**
   * Stats of the files of the first read: a later read fails, naming the
   * file, if any changed, so a digest measured by the first read needs no
   * second hashing (store and tree layers).
   */
  fingerprints?: FileFingerprints;
  /** Plain data to make the layer again in another thread. */
  recipe?: LayerRecipe;
  /**
   * The layer as a stored blob, when it comes from an image that already
   * holds it (compressed or not): sinks that keep that media type copy it as
   * it is instead of packing it again.
   */
  blob?: Blob;
}

/** Digest and size of a layer's tar, when both are known without reading it. */
export function knownTar(layer: Layer): { digest: string; size: number } | undefined {
  const known = layer.known;
  return known?.size === undefined ? undefined : { digest: known.digest, size: known.size };
}

/** A content-addressed blob as an OCI descriptor names it. */
export interface Blob {
  mediaType: string;
  digest: string;
  size: number;
  open(): Bytes;
}

/** Bytes produced lazily, by a stream or a generator. */
export type Bytes = AsyncIterable<Buffer> | Iterable<Buffer>;

export interface Platform {
  architecture: string;
  os: string;
  variant?: string;
}

/** An image: layers bottom first, and the config that names them. */
export interface Image {
  layers: Layer[];
  /** The image config's exact bytes, given each layer's diff_id. */
  config(diffIds: string[]): Buffer;
  repoTags: (string | null)[];
  /** Modification time of the archive's own members (seconds since the epoch). */
  mtime: number;
  platform: Platform;
  /** Annotations for the manifest (OCI). */
  annotations?: Record<string, string>;
  /** Release what the image holds open (a base image's scratch file), once written. */
  close?(): Promise<void>;
}

/** Where an image goes: docker-archive, OCI layout, a registry... */
export interface ImageSink {
  write(image: Image): Promise<void>;
  /** Several images as one multi-platform index, for sinks that can hold one. */
  writeIndex?(images: Image[]): Promise<void>;
}
