import { ExitCode, StrataError } from '../errors.js';
import { json } from '../image/manifests.js';
import { sha256Digest } from '../model/digest.js';
import type { Descriptor as ModelDescriptor } from '../model/image.js';
import { OCI_INDEX, OCI_MANIFEST } from '../model/media-types.js';

// An SBOM as an OCI 1.1 artifact that refers to the image manifest it
// describes (`subject`), and the referrers tag scheme's index for
// registries without the referrers API.

/** An OCI descriptor; an index names its artifacts' type. */
type Descriptor = ModelDescriptor & { artifactType?: string };

/** The image spec's empty descriptor: an artifact's config when it has none. */
const OCI_EMPTY = 'application/vnd.oci.empty.v1+json';
const EMPTY_BYTES = Buffer.from('{}');


/** A blob to upload: its descriptor and bytes. */
interface Blob {
  descriptor: Descriptor;
  bytes: Buffer;
}

interface ReferrerArtifact {
  /** Upload these first: the empty config and the document. */
  blobs: Blob[];
  /** Then the manifest, by digest (registries with the referrers API index it from its subject). */
  manifest: Blob;
}

/**
 * The manifest of an artifact holding one document (an SBOM) about the image
 * manifest `subject`: artifactType the document's media type, the empty
 * config, the document as its one layer.
 */
export function referrerArtifact(subject: Descriptor, mediaType: string, document: Buffer, annotations?: Record<string, string>): ReferrerArtifact {
  const empty: Blob = { descriptor: { mediaType: OCI_EMPTY, digest: sha256Digest(EMPTY_BYTES), size: EMPTY_BYTES.length }, bytes: EMPTY_BYTES };
  const layer: Blob = { descriptor: { mediaType, digest: sha256Digest(document), size: document.length }, bytes: document };
  const manifest = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    artifactType: mediaType,
    config: empty.descriptor,
    layers: [layer.descriptor],
    subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
    ...(annotations === undefined ? {} : { annotations }),
  };
  const bytes = Buffer.from(JSON.stringify(manifest));
  const descriptor: Descriptor = { mediaType: OCI_MANIFEST, digest: sha256Digest(bytes), size: bytes.length, artifactType: mediaType, ...(annotations === undefined ? {} : { annotations }) };
  return { blobs: [empty, layer], manifest: { descriptor, bytes } };
}

/** The tag the referrers tag scheme keeps the referrers of `digest` under: `sha256-<hex>`. */
export function referrersTag(digest: string): string {
  return digest.replace(':', '-');
}

/**
 * The index to put under the referrers tag: the one found there (or none)
 * with `referrer` added, once.
 */
export function referrersIndex(found: Buffer | undefined, referrer: Descriptor): Blob {
  const index = found === undefined ? { schemaVersion: 2, mediaType: OCI_INDEX, manifests: [] as Descriptor[] } : (JSON.parse(found.toString('utf8')) as { manifests?: Descriptor[] });
  const manifests = (index.manifests ?? []).filter((m) => m.digest !== referrer.digest);
  const bytes = Buffer.from(JSON.stringify({ ...index, manifests: [...manifests, referrer] }));
  return { descriptor: { mediaType: OCI_INDEX, digest: sha256Digest(bytes), size: bytes.length }, bytes };
}

/**
 * The document of the artifact of `artifactType` that refers to the manifest
 * `subject`, among the descriptors an index lists (an OCI layout's
 * index.json, the referrers API's answer, the referrers tag's index): the
 * last listed, as the tag scheme appends. Each manifest and document is read
 * with `read` and checked against its digest; undefined when none refers to
 * `subject`.
 */
export async function referredDocument(
  listed: unknown,
  subject: string,
  artifactType: string,
  read: (digest: string, kind: 'manifest' | 'blob') => Promise<Buffer | undefined>,
  where: string,
): Promise<Buffer | undefined> {
  const candidates = (Array.isArray(listed) ? listed : []).filter((d): d is Descriptor => d?.artifactType === artifactType && typeof d.digest === 'string');
  for (const d of candidates.reverse()) {
    const manifest = json(await checkedRead(read, d.digest, 'manifest', where), `${where}: referrer manifest ${d.digest}`) as { subject?: { digest?: string }; layers?: Descriptor[] };
    const layer = Array.isArray(manifest.layers) ? manifest.layers[0] : undefined;
    if (manifest.subject?.digest !== subject || layer?.mediaType !== artifactType) continue;
    return checkedRead(read, layer.digest, 'document', where);
  }
  return undefined;
}

async function checkedRead(read: (digest: string, kind: 'manifest' | 'blob') => Promise<Buffer | undefined>, digest: string, kind: 'manifest' | 'document', where: string): Promise<Buffer> {
  const bytes = await read(digest, kind === 'manifest' ? kind : 'blob');
  if (bytes === undefined || sha256Digest(bytes) !== digest) {
    const what = bytes === undefined ? 'is missing' : `hashes to ${sha256Digest(bytes)}`;
    throw new StrataError(`${where}: the referrer ${kind} ${digest} ${what}; the stored SBOM is damaged: store it again (strata image or stream --sbom), or push without --sbom`, ExitCode.Integrity);
  }
  return bytes;
}
