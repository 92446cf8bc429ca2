import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { ExitCode, StrataError } from '../../errors.js';
import { removeOnExit } from '../../scratch.js';
import { type ContentStore, readImages } from '../../image/manifests.js';
import type { ImageSource } from '../../image/source.js';
import type { Descriptor } from '../../model/image.js';
import { DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, OCI_INDEX, OCI_MANIFEST } from '../../model/media-types.js';
import { RegistryClient } from './client.js';
import { type CredentialOptions, resolveAuthentication } from './credentials.js';
import { DEFAULT_RETRIES, type RetryPolicy } from './http.js';
import { parseRegistryReference } from './reference.js';
import { readReferrer } from './referrer.js';
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
  const spool = new BlobSpool((digest) => client.getBlob(digest));
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
        return client.readBlob(d.digest);
      },
      // A missing blob is told when it is read; asking now costs a request a layer.
      has: async () => true,
      blob: (d: Descriptor) => ({ mediaType: d.mediaType, digest: d.digest, size: d.size, ...(d.annotations && { annotations: d.annotations }), open: () => spool.read(d.digest), origin }),
      where: (d) => `${ref.registry}/${ref.repository}@${d.digest}`,
    };
    const descriptor = { mediaType: top.mediaType, digest: top.digest, size: top.bytes.length };
    const images = await readImages(store, name, [{ descriptor, refName: ref.tag === undefined ? undefined : `${ref.registry}/${ref.repository}:${ref.tag}` }]);
    return {
      name,
      format: 'docker',
      images,
      digest: top.digest,
      referrer: (subject, type) => readReferrer(client, subject, type, name),
      close: async () => {
        client.close();
        await spool.close();
      },
    };
  } catch (e) {
    client.close();
    await spool.close();
    throw e;
  }
}

/**
 * Blobs downloaded once: the first read streams from the registry and
 * keeps what it read in a scratch file, which later reads stream from (a
 * docker-archive reads each compressed layer twice, to learn its tar's size
 * first). Never a whole blob in memory; the files go on close or exit.
 */
class BlobSpool {
  private dir: Promise<string> | undefined;
  private forget: (() => void) | undefined;
  private readonly kept = new Map<string, string>();
  private parts = 0;

  constructor(private readonly fetch: (digest: string) => AsyncIterable<Buffer>) {}

  async *read(digest: string): AsyncGenerator<Buffer> {
    const file = this.kept.get(digest);
    if (file !== undefined) {
      yield* createReadStream(file, { highWaterMark: 1 << 20 });
      return;
    }
    const dir = await (this.dir ??= mkdtemp(join(tmpdir(), 'strata-pull-')).then((d) => {
      this.forget = removeOnExit(d);
      return d;
    }));
    const part = join(dir, `${this.parts++}.part`);
    const out = createWriteStream(part);
    let failed: NodeJS.ErrnoException | undefined;
    out.on('error', (e) => (failed = e));
    const check = (): void => {
      if (failed) throw new StrataError(`${part}: cannot write the scratch copy of blob ${digest} (${failed.code ?? failed.message}); set TMPDIR to a directory with room`);
    };
    let whole = false;
    try {
      for await (const chunk of this.fetch(digest)) {
        check();
        if (!out.write(chunk)) await once(out, 'drain').catch(check);
        yield chunk;
      }
      await new Promise<void>((resolve) => out.end(resolve));
      check();
      whole = true;
    } finally {
      if (whole) {
        const done = join(dir, digest.replace(':', '-'));
        await rename(part, done);
        this.kept.set(digest, done);
      } else {
        out.destroy();
        await rm(part, { force: true });
      }
    }
  }

  async close(): Promise<void> {
    const dir = await this.dir?.catch(() => undefined);
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
    this.forget?.();
  }
}
