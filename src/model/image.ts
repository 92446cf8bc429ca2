// The image model every part of strata shares; it imports nothing of strata.

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
  member?: MemberAttributes;
  /**
   * "sha256:<hex>" of what makes the tar bytes (its store paths' NAR hashes,
   * the options, the tar format's version), known without reading a file:
   * layers with one key have one tar. Absent where only reading tells.
   */
  key?: string;
  /** The tar bytes. */
  open(): Bytes;
  /**
   * The tar's length from a walk of its files' metadata (no reads), and its
   * bytes packed from that walk: for writers that need the length first;
   * `files`, how many files with content it reads.
   */
  walk?(): { size: number; files: number; open(): Bytes };
  /**
   * 64 hex digits from what the layer is made of (not its bytes), unique in
   * an image: names its docker-archive member when the digest is not known
   * before the bytes are written.
   */
  inputKey?(): string;
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
  fingerprints?: ReadFingerprints;
  /**
   * Plain data (structured-cloneable) from which the layer's producer makes
   * the layer again in another thread.
   */
  recipe?: { kind: string; args: unknown[] };
  /**
   * The layer as a stored blob, when it comes from an image that already
   * holds it (compressed or not): sinks that keep that media type copy it as
   * it is instead of packing it again.
   */
  blob?: Blob;
}

/** Tar member attributes a docker-archive records for a layer's file. */
interface MemberAttributes {
  name?: string;
  mode?: number;
  uid?: number;
  gid?: number;
  uname?: string;
  gname?: string;
  mtime?: number;
  /** Pax records, written first and in their order. */
  pax?: ReadonlyMap<string, string>;
}

/** What the first read of a layer saw of its files, handed between threads. */
interface ReadFingerprints {
  /** The first read's record; undefined before a first read. */
  export(): [string, string][] | undefined;
  /** Take another thread's first read as this layer's own. */
  adopt(first: [string, string][]): void;
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
  /** Its descriptor's annotations in the image it comes from, kept where it is copied as it is. */
  annotations?: Record<string, string>;
  open(): Bytes;
  /** The registry (`host[:port]`) and repository it was read from, so a push to that registry mounts it. */
  origin?: { registry: string; repository: string };
}

/** A content descriptor, as OCI manifests and indexes hold them. */
export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: Platform;
  annotations?: Record<string, string>;
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
  /**
   * Whether the layers' keys and diff_ids go with the image (OCI manifest
   * layer annotations; a Docker manifest's config); false where the bytes
   * must be another tool's.
   */
  layerKeys?: boolean;
  /** Release what the image holds open (a base image's scratch file), once written. */
  close?(): Promise<void>;
}

/** Where an image goes: docker-archive, OCI layout, a registry... */
export interface ImageSink {
  write(image: Image): Promise<void>;
  /** Several images as one multi-platform index, for sinks that can hold one. */
  writeIndex?(images: Image[]): Promise<void>;
}
