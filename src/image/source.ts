import { ExitCode, StrataError } from '../errors.js';
import { compressionOf, decompressor } from './compression.js';
import { digestOf, hashing } from '../model/digest.js';
import type { Blob, Layer, Platform } from '../model/image.js';
import type { PyObject } from '../util/pyjson.js';
import { through } from '../util/streams.js';

/** A layer read from an image: the blob it is stored as, and its diff_id. */
export interface SourceLayer extends Layer {
  blob: Blob;
  /** The diff_id, and the tar's size when the blob is not compressed. */
  known: { digest: string; size?: number };
  /** Where the blob lies in the image (archive member or layout path), for messages. */
  path: string;
}

/** One image: a manifest (or a docker-archive's manifest.json entry), its config and layers. */
export interface SourceImage {
  /** The image as named, for messages: `oci:dir:latest`, `app.tar`. */
  name: string;
  /** The OCI or Docker manifest; none in a docker-archive, whose manifest.json entries have no digest. */
  manifest?: { mediaType: string; digest: string; size: number };
  /** Its names: org.opencontainers.image.ref.name, or a docker-archive entry's RepoTags. */
  refs: string[];
  platform: Platform;
  config: { digest: string; size: number; bytes: Buffer; json: PyObject };
  /** Bottom first. */
  layers: SourceLayer[];
}

/** What an image name opens: every image it selects (one per platform of an index). */
export interface ImageSource {
  name: string;
  /** The skopeo transport of its format: docker-archive, oci or oci-archive. */
  format: string;
  images: SourceImage[];
  /** The digest of the manifest or index the name resolved to, for sources that name one (a registry's tag). */
  digest?: string;
  /** The document of `artifactType` stored with the image as an OCI 1.1 referrer of the manifest `subject`, for formats that keep them. */
  referrer?(subject: string, artifactType: string): Promise<Buffer | undefined>;
  /** Release scratch files; its layers cannot be read after. */
  close(): Promise<void>;
}

/**
 * A layer stored as `blob`, whose tar hashes to `diffId`. Reading it
 * decompresses the blob and checks both digests at the end, so a damaged
 * base image fails whichever sink reads it.
 */
export function blobLayer(image: string, index: number, path: string, blob: Blob, diffId: string): SourceLayer {
  const compression = compressionOf(blob.mediaType);
  const where = `${image}: layer ${index + 1} (${path})`;
  return {
    // What nixpkgs names a base layer: its member in a docker-archive.
    contents: [`${diffId.slice('sha256:'.length)}/layer.tar`],
    known: { digest: diffId, size: compression === 'none' ? blob.size : undefined },
    blob,
    path,
    async *open() {
      const stored = hashing(blob.open());
      const tar = compression === 'none' ? stored : hashing(through(stored, decompressor(compression)));
      try {
        yield* tar;
      } catch (e) {
        if (e instanceof StrataError) throw e;
        const actual = stored.done() ? stored.result() : await digestOf(blob.open());
        if (actual.digest !== blob.digest) throw blobMismatch(where, blob, actual);
        throw new StrataError(`${where}: cannot ${compression}-decompress it (${(e as Error).message}); the image is damaged`, ExitCode.Integrity);
      }
      const actual = stored.result();
      if (actual.digest !== blob.digest || actual.size !== blob.size) throw blobMismatch(where, blob, actual);
      const content = tar.result();
      if (content.digest !== diffId) {
        throw new StrataError(`${where}: its uncompressed tar's digest is ${content.digest}, not the config's diff_id ${diffId}; the image is damaged`, ExitCode.Integrity);
      }
    },
  };
}

function blobMismatch(where: string, blob: Blob, actual: { digest: string; size: number }): StrataError {
  return new StrataError(`${where}: its blob's digest is ${actual.digest} (${actual.size} bytes), not ${blob.digest} (${blob.size} bytes); the image is damaged`, ExitCode.Integrity);
}
