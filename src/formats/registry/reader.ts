import { ExitCode, StrataError } from '../../errors.js';
import { type ContentStore, readImages } from '../../image/manifests.js';
import type { ImageSource } from '../../image/source.js';
import type { Descriptor } from '../../model/image.js';
import { DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, OCI_INDEX, OCI_MANIFEST } from '../../model/media-types.js';
import { RegistryClient } from './client.js';
import { type CredentialOptions, resolveAuthentication } from './credentials.js';
import { DEFAULT_RETRIES, type RetryPolicy } from './http.js';
import { parseRegistryReference } from './reference.js';
import { tlsSettings } from './tls.js';

/** How to reach a registry to read from it. */
export interface RegistryReadOptions extends CredentialOptions {
  tlsVerify?: boolean;
  certDir?: string;
  retries?: RetryPolicy;
  warn?(message: string): void;
}

const ACCEPT = [OCI_INDEX, DOCKER_MANIFEST_LIST, OCI_MANIFEST, DOCKER_MANIFEST];
const SCHEMA1 = /^application\/vnd\.docker\.distribution\.manifest\.v1/;

/**
 * The image(s) `docker://HOST/REPO[:TAG|@DIGEST]` names: its manifest, or
 * each manifest of its index, and their configs, read now; layer blobs
 * streamed from the registry when a layer is read, kept as stored (and
 * marked with where they came from, so a push to the same registry mounts
 * them). Connected with a pull-only token until closed.
 */
export async function openRegistrySource(reference: string, name: string, options: RegistryReadOptions = {}): Promise<ImageSource> {
  const ref = parseRegistryReference(reference, name);
  const client = await RegistryClient.connect(ref, {
    tls: await tlsSettings(ref.registry, { verify: options.tlsVerify, certDir: options.certDir }),
    ...(await resolveAuthentication(ref.registry, ref.repository, options)),
    access: 'pull',
    retries: options.retries ?? DEFAULT_RETRIES,
    warn: options.warn,
  });
  try {
    const top = await client.getManifest(ref.digest ?? ref.tag!, ACCEPT);
    if (SCHEMA1.test(top.mediaType)) {
      throw new StrataError(`${name}: a Docker schema 1 manifest (${top.mediaType}), which strata does not read; push the image again with a current tool`);
    }
    if (!ACCEPT.includes(top.mediaType)) throw new StrataError(`${name}: the registry answered with a ${top.mediaType || 'untyped'} manifest, not an image manifest or index`, ExitCode.Registry);
    const origin = { registry: ref.registry, repository: ref.repository };
    const store: ContentStore = {
      async read(d, kind) {
        if (d.digest === top.digest) return top.bytes;
        if (kind === 'manifest') return (await client.getManifest(d.digest, [d.mediaType])).bytes;
        const chunks: Buffer[] = [];
        for await (const c of client.getBlob(d.digest)) chunks.push(c);
        return Buffer.concat(chunks);
      },
      // A missing blob is told when it is read; asking now costs a request a layer.
      has: async () => true,
      blob: (d: Descriptor) => ({ mediaType: d.mediaType, digest: d.digest, size: d.size, open: () => client.getBlob(d.digest), origin }),
      where: (d) => `${ref.registry}/${ref.repository}@${d.digest}`,
    };
    const descriptor = { mediaType: top.mediaType, digest: top.digest, size: top.bytes.length };
    const images = await readImages(store, name, [{ descriptor, refName: ref.tag === undefined ? undefined : `${ref.registry}/${ref.repository}:${ref.tag}` }]);
    return { name, format: 'docker', images, digest: top.digest, close: async () => client.close() };
  } catch (e) {
    client.close();
    throw e;
  }
}
