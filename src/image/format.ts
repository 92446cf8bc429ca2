import type { DigestCache } from '../layer/digest-cache.js';
import type { ImageSink } from '../model/image.js';
import type { Progress } from '../progress.js';
import type { Compression } from './compression.js';
import type { ImageSource, SourceImage } from './source.js';
import type { TarArchive } from './tar-archive.js';

/** What every destination may be given beyond its name. */
export interface CommonSinkOptions {
  /** Layer digests kept across runs (docker-archive reads each layer once when they hit). */
  cache?: DigestCache;
  compression?: Compression;
  level?: number;
  /** docker-archive on a pipe: name layers by digest, as nixpkgs does (files always are). */
  nixpkgsNames?: boolean;
  progress?: Progress;
}

/** A document about an image (an SBOM), stored with it once the image is written. */
export interface AttachedDocument {
  mediaType: string;
  /** Added to an image file's name for the file beside it. */
  suffix: string;
  /** The document; `digest` is the image manifest's, where the destination has one. */
  document(digest?: string): Buffer;
}

/** A sink that becomes visible under its name only on commit. */
export interface OpenedSink {
  sink: ImageSink;
  commit(): Promise<void>;
  abort(): Promise<void>;
}

/**
 * How a format reads images: from a directory, from the members of one
 * (maybe compressed) tar, or from a server, given the reference after the
 * transport and the reading options `S`.
 */
type FormatReader<S> =
  | { kind: 'directory'; open(dir: string, ref: string | undefined, name: string): Promise<ImageSource> }
  | { kind: 'remote'; open(reference: string, name: string, options: S): Promise<ImageSource> }
  | {
      kind: 'archive';
      /** The member that tells an archive of this format from others, for a plain path. */
      marker: string;
      /** The marker as a message names it: "a manifest.json (docker-archive)". */
      markerText: string;
      read(archive: TarArchive, name: string, ref: string | undefined): Promise<SourceImage[]>;
    };

/**
 * An image format, named as skopeo names its transport (`NAME:REFERENCE`):
 * how it reads images, how it writes them, or both. One line of
 * formats/table.ts each. A writer is loaded when a sink is opened and a
 * reader when an image is read, so a run loads only the ones it uses.
 */
export interface Format<O extends CommonSinkOptions = CommonSinkOptions, S = unknown> {
  name: string;
  reader?: FormatReader<S>;
  openSink?(reference: string, options: O): Promise<OpenedSink>;
  /**
   * Start loading what openSink loads, for a run that opens the sink after
   * a long synchronous step (the platform guard's walk): opening then takes
   * no turn of the event loop, which would run the garbage collection the
   * walk left pending on the way to the first byte.
   */
  prepareSink?(): void;
  /**
   * Store a document with the image just written to `reference`: beside its
   * file, or as an OCI 1.1 referrer of its manifest (`digest`, when the
   * writer told it). Returns where it went, for messages.
   */
  attach?(reference: string, doc: AttachedDocument, options: O & { digest?: string }): Promise<string>;
}

/** `PATH[:REF]`, split at the first colon as skopeo does. */
export const pathAndRef = (reference: string): [string, string | undefined] => {
  const i = reference.indexOf(':');
  return i < 0 ? [reference, undefined] : [reference.slice(0, i), reference.slice(i + 1) || undefined];
};
