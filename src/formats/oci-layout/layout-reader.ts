import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ExitCode, StrataError } from '../../errors.js';
import type { Bytes } from '../../model/image.js';
import { REF_NAME, layoutBlobPath } from '../../model/media-types.js';
import { type ContentStore, json, manifestsOf, readImages } from '../../image/manifests.js';
import type { SourceImage } from '../../image/source.js';
import { referredDocument } from '../../sbom/referrer.js';


/** The files of an OCI image layout, in a directory or an archive. */
export interface LayoutFiles {
  /** A file's bytes; undefined when there is no such file. */
  read(path: string): Promise<Buffer | undefined>;
  has(path: string): Promise<boolean>;
  stream(path: string): Bytes;
}

/** A layout directory's files. */
export function layoutDirectory(dir: string): LayoutFiles {
  return {
    read: (path) => readFile(join(dir, path)).catch((e: NodeJS.ErrnoException) => (e.code === 'ENOENT' ? undefined : Promise.reject(e))),
    has: (path) => stat(join(dir, path)).then(() => true, () => false),
    stream: (path) => createReadStream(join(dir, path), { highWaterMark: 1 << 20 }),
  };
}

/**
 * The images of an OCI layout: those index.json names `ref`
 * (org.opencontainers.image.ref.name), or all, each image index among them
 * followed down to its manifests. Every manifest, index and config read is
 * checked against its digest; layer blobs are checked when read.
 */
export async function readOciLayout(files: LayoutFiles, name: string, ref?: string): Promise<SourceImage[]> {
  if (!(await files.has('oci-layout'))) throw new StrataError(`${name}: no oci-layout file; not an OCI image layout (as skopeo copy ... oci:DIR writes)`);
  const indexBytes = await files.read('index.json');
  if (!indexBytes) throw new StrataError(`${name}: index.json is missing; the layout is incomplete`, ExitCode.Integrity);
  const indexJson = json(indexBytes, `${name}: index.json`);
  const top = manifestsOf(indexJson, `${name}: index.json`);
  // Artifacts beside the images (an SBOM referring to one) are not images.
  const artifacts = new Set((indexJson.manifests as { digest?: unknown; artifactType?: unknown }[]).filter((m) => m.artifactType !== undefined).map((m) => m.digest));
  const notArtifacts = top.filter((d) => !artifacts.has(d.digest));
  const named = ref === undefined ? notArtifacts : notArtifacts.filter((d) => d.annotations?.[REF_NAME] === ref);
  if (named.length === 0) {
    const refs = top.map((d) => d.annotations?.[REF_NAME]).filter((r) => r !== undefined);
    throw new StrataError(ref === undefined ? `${name}: index.json names no image` : `${name}: no image named '${ref}' (it has: ${refs.join(', ') || 'no names'})`);
  }

  const store: ContentStore = {
    read: (d) => files.read(blobFile(d.digest)),
    has: (d) => files.has(blobFile(d.digest)),
    blob: (d) => ({ ...d, open: () => files.stream(blobFile(d.digest)) }),
    where: (d) => blobFile(d.digest),
  };
  return readImages(store, name, named.map((d) => ({ descriptor: d, refName: d.annotations?.[REF_NAME] })));
}

/** Where a blob lies in a layout (descriptors are checked to hold sha256 digests). */
const blobFile = (digest: string): string => layoutBlobPath(digest)!;

/** The document of `artifactType` stored in the layout as a referrer of the manifest `subject`, or undefined. */
export async function layoutReferrer(files: LayoutFiles, name: string, subject: string, artifactType: string): Promise<Buffer | undefined> {
  const index = json((await files.read('index.json'))!, `${name}: index.json`);
  return referredDocument(index.manifests, subject, artifactType, (digest) => files.read(blobFile(digest)), name);
}
