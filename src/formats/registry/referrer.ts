import { ExitCode, StrataError } from '../../errors.js';
import type { AttachedDocument } from '../../image/format.js';
import { json } from '../../image/manifests.js';
import { sha256Digest } from '../../model/digest.js';
import { DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, OCI_INDEX, OCI_MANIFEST } from '../../model/media-types.js';
import { referredDocument, referrerArtifact, referrersIndex, referrersTag } from '../../sbom/referrer.js';
import { RegistryClient } from './client.js';
import { resolveAuthentication } from './credentials.js';
import { DEFAULT_RETRIES } from './http.js';
import { formatReference, parseRegistryReference } from './reference.js';
import type { RegistryOptions } from './sink.js';
import { tlsSettings } from './tls.js';

/**
 * Push `doc` as an OCI 1.1 referrer of the manifest just pushed to
 * `reference` (`digest`, as the push reported it): the empty config and the
 * document as blobs, the artifact manifest by digest. A registry with the
 * referrers API indexes it from its subject; for one without (answering 404
 * there), the index under the referrers tag (`sha256-<hex>`) gets it added.
 * Returns the artifact manifest's digest.
 */
export async function pushReferrer(reference: string, doc: AttachedDocument, options: RegistryOptions & { digest?: string }): Promise<string> {
  const ref = parseRegistryReference(reference);
  const client = await RegistryClient.connect(ref, {
    tls: await tlsSettings(ref.registry, { verify: options.tlsVerify, certDir: options.certDir }),
    ...(await resolveAuthentication(ref.registry, ref.repository, options)),
    retries: options.retries ?? DEFAULT_RETRIES,
    warn: options.warn,
  });
  try {
    const at = options.digest ?? ref.digest ?? ref.tag!;
    const found = await client.get(`manifests/${at}`, [OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_MANIFEST_LIST].join(', '));
    if (found === undefined) throw new StrataError(`${formatReference(ref)}: no manifest ${at} to refer to; push the image first`, ExitCode.Registry);
    const subject = { mediaType: found.mediaType, digest: sha256Digest(found.bytes), size: found.bytes.length };
    const artifact = referrerArtifact(subject, doc.mediaType, doc.document(subject.digest));
    for (const { descriptor, bytes } of artifact.blobs) {
      if (!(await client.blobExists(descriptor.digest))) await client.upload(`${descriptor.mediaType} ${descriptor.digest}`, { digest: descriptor.digest, size: descriptor.size, open: () => [bytes] });
    }
    const { descriptor } = artifact.manifest;
    await client.putManifest(descriptor.digest, OCI_MANIFEST, artifact.manifest.bytes);
    if ((await client.get(`referrers/${subject.digest}`, OCI_INDEX)) === undefined) {
      const tag = referrersTag(subject.digest);
      const index = referrersIndex((await client.get(`manifests/${tag}`, OCI_INDEX))?.bytes, descriptor);
      await client.putManifest(tag, OCI_INDEX, index.bytes);
    }
    return descriptor.digest;
  } finally {
    client.close();
  }
}

/**
 * The document of `artifactType` referring to the manifest `subject` in
 * the client's repository: listed by the referrers API, or (a 404 there) by
 * the referrers tag's index; undefined when neither lists one.
 */
export async function readReferrer(client: RegistryClient, subject: string, artifactType: string, name: string): Promise<Buffer | undefined> {
  const index = (await client.get(`referrers/${subject}`, OCI_INDEX)) ?? (await client.get(`manifests/${referrersTag(subject)}`, OCI_INDEX));
  if (index === undefined) return undefined;
  return referredDocument(json(index.bytes, `${name}: the referrers of ${subject}`).manifests, subject, artifactType, async (digest, kind) => (kind === 'manifest' ? (await client.getManifest(digest, [OCI_MANIFEST])).bytes : client.readBlob(digest)), name);
}
