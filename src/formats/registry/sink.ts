import { ExitCode, StrataError } from '../../errors.js';
import { type Compression, compressionOf, compressor } from '../../image/compression.js';
import { measure } from '../../layer/measure.js';
import { type Blob, type Bytes, type Descriptor, type Image, type ImageSink, type Layer, knownTar } from '../../model/image.js';
import type { DigestCache } from '../../layer/digest-cache.js';
import { type Progress, counted, silent } from '../../progress.js';
import { through } from '../../util/streams.js';
import { RegistryClient, type UploadBlob } from './client.js';
import { type CredentialOptions, resolveAuthentication } from './credentials.js';
import { DEFAULT_RETRIES, type RetryPolicy } from './http.js';
import { type ManifestFormat, type MediaTypes, imageManifest, indexManifest, mediaTypes } from './manifest.js';
import { type RegistryReference, formatReference, parseRepository } from './reference.js';
import { tlsSettings } from './tls.js';
import { checkedTar } from '../../image/checked-tar.js';
import { StreamDigest, sha256Digest } from '../../model/digest.js';

/** What happened to one blob (or per-platform manifest) of a push. */
export interface PushedBlob {
  /** "layer 2/5", "config", "manifest linux/arm64". */
  what: string;
  digest: string;
  size: number;
  status: 'pushed' | 'skipped' | 'mounted';
}

interface PushResult {
  /** docker://HOST/REPO:TAG as pushed. */
  reference: string;
  /** The digest of the manifest (or index) the tag now names. */
  digest: string;
  mediaType: string;
  blobs: PushedBlob[];
}

/** How to reach and fill a registry (credentials: --creds, --registry-token, else the auth files' entry, else anonymous). */
export interface RegistryOptions extends CredentialOptions {
  tlsVerify?: boolean;
  /** Directory of *.crt CAs and a NAME.cert/NAME.key client pair. */
  certDir?: string;
  /** A repository of the same registry to mount missing blobs from. */
  mountFrom?: string;
  manifestFormat?: ManifestFormat;
  retries?: RetryPolicy;
  warn?(message: string): void;
  onBlob?(blob: PushedBlob): void;
  onPushed?(result: PushResult): void | Promise<void>;
}

interface RegistrySinkOptions extends RegistryOptions {
  /** Layer compression; default: compressed blobs as they are, tars gzipped (as skopeo). */
  compression?: Compression;
  level?: number;
  progress?: Progress;
  /** Digests kept across runs: the layers' tars, and what they compress to. */
  cache?: DigestCache;
}

/** A layer as the registry will hold it. */
interface Prepared extends UploadBlob {
  mediaType: string;
  diffId: string;
  /** Digest and size from the cache, not measured now. */
  cached?: boolean;
  /** Where the blob was read from, to mount it from there when that is this registry. */
  origin?: Blob['origin'];
}

/**
 * Push to a registry: per blob, HEAD first and send only what it lacks
 * (mounting from `mountFrom` when it can), then the config, then the
 * manifest last, so a tag never names an image whose blobs are not all
 * there. Layers are streamed; a compressed layer whose digest is unknown is
 * compressed once to learn it (discarding the bytes), and again to send it.
 * The digest cache keeps what each tar compressed to, so a layer the
 * registry already holds is not read again.
 */
export class RegistrySink implements ImageSink {
  private readonly format: ManifestFormat;
  private readonly types: MediaTypes;
  private readonly progress: Progress;

  constructor(
    readonly ref: RegistryReference,
    private readonly options: RegistrySinkOptions = {},
  ) {
    this.format = options.manifestFormat ?? 'oci';
    this.types = mediaTypes(this.format);
    if (options.compression) this.types.layer(options.compression);
    if (options.mountFrom !== undefined) parseRepository(options.mountFrom, '--mount-from');
    this.progress = options.progress ?? silent;
  }

  async write(image: Image): Promise<void> {
    await this.session([image], async (client, blobs) => (await this.pushImage(client, image, blobs, '')).manifest);
  }

  /** Each platform's blobs and manifest (by digest), then the index under the tag. */
  async writeIndex(images: Image[]): Promise<void> {
    const names = images.map(({ platform: p }) => [p.os, p.architecture, p.variant].filter(Boolean).join('/'));
    const twice = names.find((n, i) => names.indexOf(n) !== i);
    if (twice) throw new StrataError(`two images for platform ${twice}; a multi-platform index holds one image per platform`);
    await this.session(images, async (client, blobs) => {
      const manifests: Descriptor[] = [];
      for (const [i, image] of images.entries()) {
        const { manifest, descriptor } = await this.pushImage(client, image, blobs, `${names[i]} `);
        await client.putManifest(descriptor.digest, manifest.mediaType, manifest.bytes);
        this.record(blobs, { what: `manifest ${names[i]}`, digest: descriptor.digest, size: descriptor.size, status: 'pushed' });
        manifests.push({ ...descriptor, platform: image.platform });
      }
      return { mediaType: this.types.index, bytes: indexManifest(this.format, manifests) };
    });
  }

  /**
   * Connect, push what `build` pushes, then put the manifest it returns
   * under the reference. The token also lets us pull from --mount-from and
   * from the repositories of this registry the images' blobs were read from.
   */
  private async session(images: Image[], build: (client: RegistryClient, blobs: PushedBlob[]) => Promise<{ mediaType: string; bytes: Buffer }>): Promise<void> {
    const { mountFrom } = this.options;
    const origins = images.flatMap((i) => i.layers.flatMap((l) => (l.blob?.origin?.registry === this.ref.registry ? [l.blob.origin.repository] : [])));
    const pullFrom = [...new Set([...(mountFrom === undefined ? [] : [mountFrom]), ...origins])].filter((r) => r !== this.ref.repository);
    const client = await RegistryClient.connect(this.ref, {
      tls: await tlsSettings(this.ref.registry, { verify: this.options.tlsVerify, certDir: this.options.certDir }),
      ...(await resolveAuthentication(this.ref.registry, this.ref.repository, this.options)),
      pullFrom,
      retries: this.options.retries ?? DEFAULT_RETRIES,
      warn: this.options.warn,
    });
    try {
      const blobs: PushedBlob[] = [];
      const { mediaType, bytes } = await build(client, blobs);
      const digest = sha256Digest(bytes);
      if (this.ref.digest !== undefined && this.ref.digest !== digest) {
        throw new StrataError(`${formatReference(this.ref)}: the image's manifest digest is ${digest}; push by tag, or name that digest`, ExitCode.Registry);
      }
      await client.putManifest(this.ref.digest ?? this.ref.tag!, mediaType, bytes);
      await this.options.onPushed?.({ reference: formatReference(this.ref), digest, mediaType, blobs });
    } finally {
      client.close();
    }
  }

  private async pushImage(client: RegistryClient, image: Image, blobs: PushedBlob[], prefix: string) {
    const layers: Descriptor[] = [];
    const diffIds: string[] = [];
    for (const [i, layer] of image.layers.entries()) {
      const what = `${prefix}layer ${i + 1}/${image.layers.length}`;
      const first = await this.prepare(layer, true);
      // A cached digest only spares work when the registry has the blob; bytes to send are measured afresh.
      const exists = first.cached ? await client.blobExists(first.digest) : undefined;
      const prepared = exists === false ? await this.prepare(layer, false) : first;
      this.progress.layer(i, image.layers.length, layer.contents.join(' '), prepared.size);
      await this.pushBlob(client, what, prepared, blobs, prepared.digest === first.digest ? exists : undefined);
      layers.push({ mediaType: prepared.mediaType, digest: prepared.digest, size: prepared.size });
      diffIds.push(prepared.diffId);
    }
    const bytes = image.config(diffIds);
    const config: Descriptor = { mediaType: this.types.config, digest: sha256Digest(bytes), size: bytes.length };
    await this.pushBlob(client, `${prefix}config`, { ...config, open: () => [bytes] }, blobs);
    const manifest = imageManifest(this.format, config, layers, image.annotations);
    return { manifest: { mediaType: this.types.manifest, bytes: manifest }, descriptor: { mediaType: this.types.manifest, digest: sha256Digest(manifest), size: manifest.length } };
  }

  /** HEAD (unless `exists` says), then mount or upload. */
  private async pushBlob(client: RegistryClient, what: string, blob: UploadBlob & { origin?: Blob['origin'] }, blobs: PushedBlob[], exists?: boolean): Promise<void> {
    let status: PushedBlob['status'] = 'skipped';
    if (!(exists ?? (await client.blobExists(blob.digest)))) {
      const from = blob.origin?.registry === this.ref.registry && blob.origin.repository !== this.ref.repository ? blob.origin.repository : this.options.mountFrom;
      const mounted = from === undefined ? undefined : await client.mount(blob.digest, from);
      if (mounted === 'mounted') status = 'mounted';
      else {
        await client.upload(what, { ...blob, open: () => counted(blob.open(), this.progress) }, mounted);
        status = 'pushed';
      }
    }
    this.record(blobs, { what, digest: blob.digest, size: blob.size, status });
  }

  private record(blobs: PushedBlob[], blob: PushedBlob): void {
    blobs.push(blob);
    this.options.onBlob?.(blob);
  }

  /** The layer's blob: carried over as stored, or its tar (compressed) with digest and size cached or measured first. */
  private async prepare(layer: Layer, useCache: boolean): Promise<Prepared> {
    const c = this.compressionOf(layer);
    const mediaType = this.types.layer(c);
    if (layer.blob && layer.known && compressionOf(layer.blob.mediaType) === c) {
      const { blob } = layer;
      return { mediaType, digest: blob.digest, size: blob.size, diffId: layer.known.digest, open: () => blob.open(), origin: blob.origin };
    }
    if (c === 'none') {
      const { digest, size } = knownTar(layer) ?? (await measure(layer));
      return { mediaType, digest, size, diffId: digest, open: () => layer.open() };
    }
    const open = (): Bytes => through(layer.open(), compressor(c, this.options.level));
    const cached = useCache ? await this.cachedBlob(layer, c) : undefined;
    if (cached) return { mediaType, ...cached, open, cached: true };
    const measured = await measureCompressed(layer, c, this.options.level);
    const { cache } = this.options;
    if (cache) {
      if (layer.cacheKey) await cache.put(layer.cacheKey(), { digest: measured.diffId, size: measured.tarSize });
      await cache.put(this.blobKey(measured.diffId, c), { digest: measured.digest, size: measured.size });
    }
    return { mediaType, digest: measured.digest, size: measured.size, diffId: measured.diffId, open };
  }

  /**
   * What the layer compresses to, from the cache: its tar's digest (known,
   * or cached under the layer's key), then the blob that tar compressed to
   * with these settings. Keyed by the tar's digest, an entry stays true
   * whatever changes: its blob is a compression of that tar.
   */
  private async cachedBlob(layer: Layer, c: Compression): Promise<{ digest: string; size: number; diffId: string } | undefined> {
    const { cache } = this.options;
    if (!cache) return undefined;
    const diffId = knownTar(layer)?.digest ?? (layer.cacheKey ? (await cache.get(layer.cacheKey()))?.digest : undefined);
    const blob = diffId === undefined ? undefined : await cache.get(this.blobKey(diffId, c));
    return blob && diffId ? { ...blob, diffId } : undefined;
  }

  private blobKey(diffId: string, c: Compression): string {
    return `registry blob\0${c}\0${this.options.level ?? 'default'}\0${diffId}`;
  }

  /** As asked; else a stored compressed blob keeps its compression (if the format has it), and tars are gzipped. */
  private compressionOf(layer: Layer): Compression {
    if (this.options.compression) return this.options.compression;
    const stored = layer.blob && layer.known ? compressionOf(layer.blob.mediaType) : 'none';
    return stored === 'none' || (stored === 'zstd' && this.format === 'docker') ? 'gzip' : stored;
  }
}

/** Digest and size of a layer compressed (the bytes are dropped), and of its tar, checked against what the layer claims. */
async function measureCompressed(layer: Layer, c: Compression, level?: number): Promise<{ digest: string; size: number; diffId: string; tarSize: number }> {
  const tar = checkedTar(layer);
  const blob = new StreamDigest();
  for await (const chunk of through(tar.bytes, compressor(c, level))) blob.update(chunk);
  const { diffId, size: tarSize } = tar.finish();
  return { digest: blob.digest(), size: blob.size, diffId, tarSize };
}

