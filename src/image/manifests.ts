import { ExitCode, StrataError } from '../errors.js';
import { sha256Digest } from '../model/digest.js';
import type { Blob, Descriptor, Platform } from '../model/image.js';
import { DOCKER_CONFIG, DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, OCI_CONFIG, OCI_INDEX, OCI_MANIFEST } from '../model/media-types.js';
import { type PyObject, parsePyJson } from '../util/pyjson.js';
import { compressionOf } from './compression.js';
import { diffIdsOf, platformOf } from './config-fields.js';
import { type SourceImage, blobLayer } from './source.js';

/** Content by digest, as an OCI layout or a registry holds it. */
export interface ContentStore {
  /** A manifest, index or config's bytes as stored (checked by the caller); undefined when missing. */
  read(d: Descriptor, kind: 'manifest' | 'config'): Promise<Buffer | undefined>;
  /** Whether a layer blob is there (a store that can only tell by reading says true). */
  has(d: Descriptor): Promise<boolean>;
  /** A layer blob, read when the layer is. */
  blob(d: Descriptor): Blob;
  /** Where a blob lies, for messages: a layout's path, a registry's digest. */
  where(d: Descriptor): string;
}

/**
 * The images `roots` name (manifests, or indexes followed down to their
 * manifests), each `refName` kept as the image's name. Every manifest,
 * index and config read is checked against its digest; layer blobs are
 * checked when read.
 */
export async function readImages(store: ContentStore, name: string, roots: { descriptor: Descriptor; refName?: string }[]): Promise<SourceImage[]> {
  const read = async (d: Descriptor, kind: 'manifest' | 'config', what: string): Promise<Buffer> => {
    const bytes = await store.read(d, kind);
    if (!bytes) throw new StrataError(`${name}: ${what} ${d.digest} is missing (${store.where(d)})`, ExitCode.Integrity);
    const digest = sha256Digest(bytes);
    if (digest !== d.digest || bytes.length !== d.size) {
      throw new StrataError(`${name}: ${what} ${store.where(d)}: its digest is ${digest} (${bytes.length} bytes), not ${d.digest} (${d.size} bytes); the image is damaged`, ExitCode.Integrity);
    }
    return bytes;
  };

  const image = async (d: Descriptor, manifest: Record<string, unknown>, refName: string | undefined): Promise<SourceImage> => {
    const at = `${name}: manifest ${d.digest}`;
    const config = descriptor(manifest.config, `${at}: config`);
    if (config.mediaType !== OCI_CONFIG && config.mediaType !== DOCKER_CONFIG) throw new StrataError(`${at}: config media type ${config.mediaType} is not an image config`);
    if (!Array.isArray(manifest.layers)) throw new StrataError(`${at}: no list of layers`);
    const layers = manifest.layers.map((l, i) => descriptor(l, `${at}: layer ${i + 1}`));
    const bytes = await read(config, 'config', 'config');
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
      if (!(await store.has(l))) throw new StrataError(`${name}: layer ${i + 1} blob ${l.digest} is missing (${store.where(l)})`, ExitCode.Integrity);
    }
    const cfg = configJson as PyObject;
    return {
      name,
      manifest: { mediaType: d.mediaType, digest: d.digest, size: d.size },
      refs: refName === undefined ? [] : [refName],
      platform: d.platform ?? platformOf(cfg),
      config: { digest: config.digest, size: config.size, bytes, json: cfg },
      layers: layers.map((l, i) => blobLayer(name, i, store.where(l), store.blob(l), diffIds[i]!)),
    };
  };

  const images: SourceImage[] = [];
  const follow = async (d: Descriptor, refName: string | undefined): Promise<void> => {
    // Build attestations (buildx) sit in indexes as unknown/unknown manifests: not images.
    if (isAttestation(d)) return;
    const what = d.mediaType === OCI_INDEX || d.mediaType === DOCKER_MANIFEST_LIST ? 'image index' : 'manifest';
    const body = json(await read(d, 'manifest', what), `${name}: ${what} ${d.digest}`);
    if (what === 'image index') {
      for (const m of manifestsOf(body, `${name}: image index ${d.digest}`)) await follow(m, refName);
    } else if (d.mediaType === OCI_MANIFEST || d.mediaType === DOCKER_MANIFEST) {
      images.push(await image(d, body, refName));
    } else {
      throw new StrataError(`${name}: ${d.digest} has media type ${d.mediaType}, neither an image manifest nor an index`);
    }
  };
  for (const { descriptor: d, refName } of roots) await follow(d, refName);
  return images;
}

const isAttestation = (d: Descriptor): boolean => d.annotations?.['vnd.docker.reference.type'] === 'attestation-manifest';

export function json(bytes: Buffer, what: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(bytes.toString('utf8'));
  } catch (e) {
    throw new StrataError(`${what}: invalid JSON (${(e as Error).message})`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new StrataError(`${what}: expected a JSON object`);
  return v as Record<string, unknown>;
}

export function manifestsOf(index: Record<string, unknown>, what: string): Descriptor[] {
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
