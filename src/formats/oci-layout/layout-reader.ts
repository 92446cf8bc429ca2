import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ExitCode, StrataError } from '../../errors.js';
import { sha256Digest } from '../../model/digest.js';
import { compressionOf } from '../../image/compression.js';
import type { Bytes, Descriptor, Platform } from '../../model/image.js';
import { DOCKER_CONFIG, DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, OCI_CONFIG, OCI_INDEX, OCI_MANIFEST, REF_NAME, layoutBlobPath } from '../../model/media-types.js';
import { type PyObject, parsePyJson } from '../../util/pyjson.js';
import { diffIdsOf, platformOf } from '../../image/config-fields.js';
import { type SourceImage, blobLayer } from '../../image/source.js';


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

  const blob = async (d: Descriptor, what: string): Promise<Buffer> => {
    const path = blobFile(d.digest);
    const bytes = await files.read(path);
    if (!bytes) throw new StrataError(`${name}: ${what} ${d.digest} is missing (${path})`, ExitCode.Integrity);
    const digest = sha256Digest(bytes);
    if (digest !== d.digest || bytes.length !== d.size) {
      throw new StrataError(`${name}: ${what} ${path}: its digest is ${digest} (${bytes.length} bytes), not ${d.digest} (${d.size} bytes); the image is damaged`, ExitCode.Integrity);
    }
    return bytes;
  };

  const image = async (d: Descriptor, manifest: Record<string, unknown>, refName: string | undefined): Promise<SourceImage> => {
    const at = `${name}: manifest ${d.digest}`;
    const config = descriptor(manifest.config, `${at}: config`);
    if (config.mediaType !== OCI_CONFIG && config.mediaType !== DOCKER_CONFIG) throw new StrataError(`${at}: config media type ${config.mediaType} is not an image config`);
    if (!Array.isArray(manifest.layers)) throw new StrataError(`${at}: no list of layers`);
    const layers = manifest.layers.map((l, i) => descriptor(l, `${at}: layer ${i + 1}`));
    const bytes = await blob(config, 'config');
    const configJson = parsePyJson(bytes.toString('utf8'), `${name}: config ${config.digest}`);
    const diffIds = diffIdsOf(configJson, `${name}: config ${config.digest}`);
    if (diffIds.length !== layers.length) {
      throw new StrataError(`${at} lists ${layers.length} layers but its config has ${diffIds.length} diff_ids; the image is damaged`, ExitCode.Integrity);
    }
    for (const [i, l] of layers.entries()) {
      try {
        compressionOf(l.mediaType);
      } catch (e) {
        throw new StrataError(`${at}: layer ${i + 1}: ${(e as Error).message}`);
      }
      if (!(await files.has(blobFile(l.digest)))) throw new StrataError(`${name}: layer ${i + 1} blob ${l.digest} is missing (${blobFile(l.digest)})`, ExitCode.Integrity);
    }
    const cfg = configJson as PyObject;
    return {
      name,
      manifest: { mediaType: d.mediaType, digest: d.digest, size: d.size },
      refs: refName === undefined ? [] : [refName],
      platform: d.platform ?? platformOf(cfg),
      config: { digest: config.digest, size: config.size, bytes, json: cfg },
      layers: layers.map((l, i) => blobLayer(name, i, blobFile(l.digest), { ...l, open: () => files.stream(blobFile(l.digest)) }, diffIds[i]!)),
    };
  };

  const images: SourceImage[] = [];
  const follow = async (d: Descriptor, refName: string | undefined): Promise<void> => {
    const what = d.mediaType === OCI_INDEX || d.mediaType === DOCKER_MANIFEST_LIST ? 'image index' : 'manifest';
    const body = json(await blob(d, what), `${name}: ${what} ${d.digest}`);
    if (what === 'image index') {
      for (const m of manifestsOf(body, `${name}: image index ${d.digest}`)) await follow(m, refName);
    } else if (d.mediaType === OCI_MANIFEST || d.mediaType === DOCKER_MANIFEST) {
      images.push(await image(d, body, refName));
    } else {
      throw new StrataError(`${name}: ${d.digest} has media type ${d.mediaType}, neither an image manifest nor an index`);
    }
  };
  for (const d of named) await follow(d, d.annotations?.[REF_NAME]);
  return images;
}

/** Where a blob lies in a layout (descriptors are checked to hold sha256 digests). */
const blobFile = (digest: string): string => layoutBlobPath(digest)!;

function json(bytes: Buffer, what: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(bytes.toString('utf8'));
  } catch (e) {
    throw new StrataError(`${what}: invalid JSON (${(e as Error).message})`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new StrataError(`${what}: expected a JSON object`);
  return v as Record<string, unknown>;
}

function manifestsOf(index: Record<string, unknown>, what: string): Descriptor[] {
  if (!Array.isArray(index.manifests)) throw new StrataError(`${what}: no list of manifests`);
  return index.manifests.map((m, i) => descriptor(m, `${what}: manifests[${i}]`));
}

/** A descriptor, checked: a media type, a sha256 digest, a size. */
function descriptor(v: unknown, what: string): Descriptor {
  const d = (typeof v === 'object' && v !== null ? v : {}) as Record<string, unknown>;
  if (typeof d.mediaType !== 'string' || typeof d.digest !== 'string' || !/^sha256:[0-9a-f]{64}$/.test(d.digest) || !Number.isSafeInteger(d.size) || (d.size as number) < 0) {
    throw new StrataError(`${what}: not a descriptor with a mediaType, a sha256 digest and a size`);
  }
  const p = d.platform as Partial<Platform> | undefined;
  const platform = typeof p?.os === 'string' && typeof p.architecture === 'string'
    ? { os: p.os, architecture: p.architecture, ...(typeof p.variant === 'string' ? { variant: p.variant } : {}) }
    : undefined;
  const annotations = typeof d.annotations === 'object' && d.annotations !== null ? (d.annotations as Record<string, string>) : undefined;
  return { mediaType: d.mediaType, digest: d.digest, size: d.size as number, ...(platform && { platform }), ...(annotations && { annotations }) };
}
