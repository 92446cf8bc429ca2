import { compressionId, keyAnnotations } from '../../image/layer-keys.js';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { finished } from 'node:stream/promises';
import { ExitCode, StrataError, fileError } from '../../errors.js';
import { removeOnExit } from '../../scratch.js';
import { writeDrained } from '../../output.js';
import { type Progress, silent } from '../../progress.js';
import { through } from '../../util/streams.js';
import { type Compression, compressionOf, compressor, layerMediaType } from '../../image/compression.js';
import { type Blob, type Bytes, type Descriptor, type Image, type ImageSink, type Layer, knownTar } from '../../model/image.js';
import { OCI_CONFIG, OCI_INDEX, OCI_MANIFEST, REF_NAME, layoutBlobPath } from '../../model/media-types.js';
import { checkedTar, claimed } from '../../image/checked-tar.js';
import type { AttachedDocument } from '../../image/format.js';
import { referrerArtifact } from '../../sbom/referrer.js';
import { StreamDigest, sha256Digest } from '../../model/digest.js';

export interface OciOptions {
  /** The name in index.json (org.opencontainers.image.ref.name). */
  ref?: string;
  compression?: Compression;
  level?: number;
  progress?: Progress;
}

/**
 * An OCI image layout directory (oci-layout, index.json, blobs/sha256/...).
 * Blobs land under their digest only when complete; index.json is replaced
 * last, atomically, so a failed write never names an incomplete image.
 */
export class OciLayoutSink implements ImageSink {
  constructor(
    private readonly dir: string,
    private readonly options: OciOptions = {},
    /** The destination as the user named it, for messages. */
    private readonly shownAs: string = dir,
  ) {}

  async write(image: Image): Promise<void> {
    try {
      await initLayout(this.dir);
      const manifest = await writeImageBlobs(this.target, image, this.options);
      await addToIndex(this.dir, { ...manifest, platform: image.platform }, this.options.ref);
    } catch (e) {
      throw fileError(this.shownAs, e);
    }
  }

  /** One image index naming a manifest per platform, itself named by the ref. */
  async writeIndex(images: Image[]): Promise<void> {
    checkPlatforms(images);
    try {
      await initLayout(this.dir);
      const index = await writeIndexBlobs(this.target, images, this.options);
      await addToIndex(this.dir, index, this.options.ref);
    } catch (e) {
      throw fileError(this.shownAs, e);
    }
  }

  private get target(): BlobTarget {
    const { dir } = this;
    const progress = this.options.progress ?? silent;
    return {
      putBytes: (bytes) => putBytes(dir, bytes),
      putBlob: (blob) => putBlob(dir, blob, progress),
      async putTar(layer, compression, level) {
        if (compression === 'none') {
          // The blob is the tar: hashed once.
          const { digest, size } = await writeBlob(dir, layer.open(), progress);
          return { digest, size, diffId: claimed(layer, digest, size).diffId };
        }
        const tar = checkedTar(layer);
        const { digest, size } = await writeBlob(dir, through(tar.bytes, compressor(compression, level)), progress);
        return { digest, size, diffId: tar.finish().diffId };
      },
    };
  }
}

/** Where an image's blobs go: a layout's directory, or an archive's members. */
export interface BlobTarget {
  /** A layer's tar, compressed as asked, as a blob; its digest and size, and the tar's diff_id. */
  putTar(layer: Layer, compression: Compression, level: number | undefined): Promise<{ digest: string; size: number; diffId: string }>;
  /** A blob copied as it is, checked against its digest. */
  putBlob(blob: Blob): Promise<void>;
  /** Bytes at hand (a config, a manifest, an index); their digest. */
  putBytes(bytes: Buffer): Promise<string>;
}

/** A multi-platform index holds one image per platform. */
export function checkPlatforms(images: Image[]): void {
  const seen = new Set<string>();
  for (const { platform } of images) {
    const key = [platform.os, platform.architecture, platform.variant ?? ''].join('/');
    if (seen.has(key)) throw new StrataError(`two images for platform ${key.replace(/\/$/, '')}; a multi-platform index holds one image per platform`);
    seen.add(key);
  }
}

/** Every image's blobs, then the image index naming their manifests; returns the index's descriptor. */
export async function writeIndexBlobs(target: BlobTarget, images: Image[], options: OciOptions): Promise<Descriptor> {
  const manifests: Descriptor[] = [];
  // Images of several platforms often share layers (data, scripts): each is packed once.
  const packed: PackedLayers = new Map();
  for (const image of images) manifests.push({ ...(await writeImageBlobs(target, image, options, packed)), platform: image.platform });
  return putDocument(target, OCI_INDEX, Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests })));
}

/** The blobs of layers packed so far, by layer key (one key, one tar). */
type PackedLayers = Map<string, { digest: string; size: number; diffId: string }>;

/** Write an image's layers, config and manifest blobs; returns the manifest's descriptor. */
export async function writeImageBlobs(target: BlobTarget, image: Image, options: OciOptions, packed: PackedLayers = new Map()): Promise<Descriptor> {
  const compression = options.compression ?? 'none';
  const progress = options.progress ?? silent;
  const mediaType = layerMediaType(compression);
  const layers: Descriptor[] = [];
  const diffIds: string[] = [];
  for (const [i, layer] of image.layers.entries()) {
    progress.layer(i, image.layers.length, layer.contents.join(' '), compression === 'none' ? knownTar(layer)?.size : undefined);
    let descriptor: Descriptor;
    let diffId: string;
    if (layer.blob && layer.known && compressionOf(layer.blob.mediaType) === compression) {
      // Carried over as it is: no unpacking, no packing again.
      await target.putBlob(layer.blob);
      const { digest, size, annotations } = layer.blob;
      descriptor = { mediaType, digest, size, ...(annotations && { annotations }) };
      diffId = layer.known.digest;
    } else {
      const put = (layer.key !== undefined && packed.get(layer.key)) || (await target.putTar(layer, compression, options.level));
      if (layer.key !== undefined) packed.set(layer.key, put);
      descriptor = { mediaType, digest: put.digest, size: put.size };
      diffId = put.diffId;
    }
    const keyed = image.layerKeys === true && layer.key !== undefined;
    layers.push(keyed ? { ...descriptor, annotations: keyAnnotations({ key: layer.key!, diffId, compression: compressionId(compression, options.level) }) } : descriptor);
    diffIds.push(diffId);
  }
  const config = await putDocument(target, OCI_CONFIG, image.config(diffIds));
  const manifest = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config,
    layers,
    ...(image.annotations && Object.keys(image.annotations).length > 0 ? { annotations: image.annotations } : {}),
  };
  return putDocument(target, OCI_MANIFEST, Buffer.from(JSON.stringify(manifest)));
}

async function putDocument(target: BlobTarget, mediaType: string, bytes: Buffer): Promise<Descriptor> {
  return { mediaType, digest: await target.putBytes(bytes), size: bytes.length };
}

/** The oci-layout file's content. */
export const LAYOUT_MARKER = Buffer.from('{"imageLayoutVersion":"1.0.0"}');

async function initLayout(dir: string): Promise<void> {
  await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
  const marker = join(dir, 'oci-layout');
  if (!(await exists(marker))) await writeAtomically(marker, LAYOUT_MARKER);
}

/** Name `descriptor` in index.json under `ref`, replacing what held that ref (or that digest, without a ref). */
async function addToIndex(dir: string, descriptor: Descriptor, ref?: string): Promise<void> {
  const file = join(dir, 'index.json');
  let index: { schemaVersion: number; mediaType?: string; manifests: Descriptor[] } = { schemaVersion: 2, mediaType: OCI_INDEX, manifests: [] };
  if (await exists(file)) {
    try {
      index = JSON.parse(await readFile(file, 'utf8'));
      if (!Array.isArray(index.manifests)) throw new Error('no manifests list');
    } catch (e) {
      throw new StrataError(`${file}: not an OCI index (${(e as Error).message}); point --to at a new directory or an OCI layout`);
    }
  }
  const entry = named(descriptor, ref);
  const kept = index.manifests.filter((m) => (ref === undefined ? m.digest !== descriptor.digest || m.annotations?.[REF_NAME] !== undefined : m.annotations?.[REF_NAME] !== ref));
  index.manifests = [...kept, entry];
  await writeAtomically(file, Buffer.from(JSON.stringify(index)));
}

/** `descriptor` as index.json lists it, named `ref` (org.opencontainers.image.ref.name) when given. */
export function named(descriptor: Descriptor, ref?: string): Descriptor {
  return ref === undefined ? descriptor : { ...descriptor, annotations: { ...descriptor.annotations, [REF_NAME]: ref } };
}

/**
 * Store `doc` in the layout as an OCI 1.1 artifact whose subject is the
 * manifest index.json names `ref` (or its one image): its blobs, and its
 * manifest in index.json with its artifactType, unnamed. Returns the artifact manifest's digest.
 */
export async function addReferrer(dir: string, ref: string | undefined, doc: AttachedDocument): Promise<string> {
  const index = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as { manifests: (Descriptor & { artifactType?: string })[] };
  const images = index.manifests.filter((m) => m.artifactType === undefined && (ref === undefined || m.annotations?.[REF_NAME] === ref));
  if (images.length !== 1) throw new StrataError(`oci:${dir}: ${images.length} images${ref === undefined ? '' : ` named ${ref}`}; name the one the document is about as oci:DIR:REF`);
  const subject = images[0]!;
  const artifact = referrerArtifact(subject, doc.mediaType, doc.document(subject.digest));
  for (const blob of [...artifact.blobs, artifact.manifest]) await putBytes(dir, blob.bytes);
  await addToIndex(dir, artifact.manifest.descriptor);
  return artifact.manifest.descriptor.digest;
}

async function putBytes(dir: string, bytes: Buffer): Promise<string> {
  const digest = sha256Digest(bytes);
  const path = blobPath(dir, digest);
  if (!(await exists(path))) await writeAtomically(path, bytes);
  return digest;
}

/** Copy a blob whose digest is known, checking it on the way. */
async function putBlob(dir: string, blob: Blob, progress: Progress): Promise<void> {
  if (await exists(blobPath(dir, blob.digest))) return;
  const { digest, size } = await writeBlob(dir, blob.open(), progress);
  if (digest !== blob.digest || size !== blob.size) {
    throw new StrataError(`blob ${blob.digest}: its content hashes to ${digest} (${size} bytes); the source image is corrupt`, ExitCode.Integrity);
  }
}

/** Stream bytes into blobs/sha256, under a temporary name until their digest is known. */
async function writeBlob(dir: string, source: Bytes, progress: Progress): Promise<{ digest: string; size: number }> {
  const temp = join(dir, 'blobs', 'sha256', `.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`);
  const sum = new StreamDigest();
  const forget = removeOnExit(temp);
  const out = createWriteStream(temp);
  // A failed write (a full disk) is raised here, by the next chunk or the end, not as an unhandled event.
  let failure: Error | undefined;
  out.on('error', (e) => (failure ??= e));
  try {
    for await (const chunk of source) {
      sum.update(chunk);
      progress.bytes(chunk.length);
      await writeDrained(out, chunk);
      if (failure) throw failure;
    }
    out.end();
    await finished(out);
  } catch (e) {
    out.destroy();
    await rm(temp, { force: true });
    forget();
    throw failure ?? e;
  }
  const digest = sum.digest();
  await rename(temp, blobPath(dir, digest));
  forget();
  return { digest, size: sum.size };
}

function blobPath(dir: string, digest: string): string {
  const path = layoutBlobPath(digest);
  if (path === undefined) throw new StrataError(`${digest}: not a sha256 digest`);
  return join(dir, path);
}

async function writeAtomically(file: string, bytes: Buffer): Promise<void> {
  const temp = `${file}.tmp-${process.pid}`;
  const forget = removeOnExit(temp);
  try {
    await writeFile(temp, bytes);
    await rename(temp, file);
  } finally {
    await rm(temp, { force: true });
    forget();
  }
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(() => true, () => false);
}
