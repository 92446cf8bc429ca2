import { ExitCode, StrataError } from '../../errors.js';
import { type Compression, compressionLevel, compressionOf, compressor, decompressor, prepareCompressor } from '../../image/compression.js';
import { type Blob, type Descriptor, type Image, type ImageSink, type Layer, knownTar } from '../../model/image.js';
import type { DigestCache } from '../../layer/digest-cache.js';
import { LayerHasher } from '../../layer/hasher.js';
import { type Progress, counted, silent } from '../../progress.js';
import { through } from '../../util/streams.js';
import { RegistryClient, type UploadBlob } from './client.js';
import { type CredentialOptions, resolveAuthentication } from './credentials.js';
import { DEFAULT_RETRIES, type RetryPolicy } from './http.js';
import { type ManifestFormat, type MediaTypes, imageManifest, indexManifest, mediaTypes } from './manifest.js';
import { type RegistryReference, formatReference, parseRegistryReference, parseRepository, parseTag } from './reference.js';
import { type KeyedLayer, compressionId, keyAnnotations, keyedLayers, withKeysInConfig } from '../../image/layer-keys.js';
import { DOCKER_MANIFEST_LIST, OCI_INDEX } from '../../model/media-types.js';
import { tlsSettings } from './tls.js';
import { checkedTar, countedTar } from '../../image/checked-tar.js';
import { ZSTD_JOB, hashingZstd } from '../../image/block-compression.js';
import { StreamDigest, sha256Digest } from '../../model/digest.js';
import { diffIdsOf } from '../../image/config-fields.js';
import { parsePyJson } from '../../util/pyjson.js';

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
  /** More tags of the same repository to put the manifest under. */
  additionalTags?: string[];
  /**
   * Images of the same registry (docker://...) whose keyed layers may stand
   * for layers of this one, besides what the destination tag names now.
   */
  reuseFrom?: string[];
  /** Download every blob taken by its key and refuse one whose digest or diff_id is not what the image says. */
  verifyReused?: boolean;
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

/** Layers read, compressed and sent at once (each compressing on every core). */
const PARALLEL_BLOBS = 3;
/**
 * zstd layers of more than one job in flight: one compresses (zstd makes
 * such frames one at a time, a worker per core), the next has its upload
 * open and waits; layers of one job go in the small-layer lane.
 */
const PARALLEL_ZSTD_BLOBS = 2;
/** Layers of at most one gzip block (as far as known unread), and how many of them go at once besides. */
const SMALL_LAYER = 1 << 20;
const SMALL_PARALLEL = 3;

/**
 * Push to a registry: several layers at once, each read once, compressed
 * and uploaded as it is made (its digest given at the end); a layer whose
 * blob is known (stored, or in the digest cache) is HEADed first and not
 * read when the registry has it (or it can be mounted from `mountFrom`).
 * Then the config, then the manifest last, so a tag never names an image
 * whose blobs are not all there.
 */
export class RegistrySink implements ImageSink {
  private readonly format: ManifestFormat;
  private readonly types: MediaTypes;
  private readonly progress: Progress;
  private readonly reuseRefs: RegistryReference[];
  /** Layers the destination and the --reuse images hold, by key and compression. */
  private shipped = new Map<string, Shipped>();
  /** Their blobs by the diff_id of their tar and their compression (gzip or zstd): for layers with no key. */
  private byDiffId = new Map<string, Shipped[]>();
  /** The compressions of blobs the registry's images that key no layer hold (a tool that writes no keys pushed them). */
  private readonly unkeyedBlobs = new Set<Compression>();
  /** Digests of keyed layers, measured to find them among those blobs. */
  private readonly hasher: LayerHasher;

  constructor(
    readonly ref: RegistryReference,
    private readonly options: RegistrySinkOptions = {},
  ) {
    this.format = options.manifestFormat ?? 'oci';
    this.types = mediaTypes(this.format);
    if (options.compression) this.types.layer(options.compression);
    if (options.mountFrom !== undefined) parseRepository(options.mountFrom, '--mount-from');
    // Only images of this registry lend their blobs (mounted); others guide the planner alone.
    this.reuseRefs = (options.reuseFrom ?? []).map((r) => parseRegistryReference(r.replace(/^docker:/, ''), `--reuse ${r}`)).filter((ref) => ref.registry === this.ref.registry);
    for (const tag of options.additionalTags ?? []) parseTag(tag, '--additional-tag');
    this.progress = options.progress ?? silent;
    this.hasher = new LayerHasher(options.cache);
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

  /** Connect, push what `build` pushes, then put the manifest it returns under the reference. */
  private async session(images: Image[], build: (client: RegistryClient, blobs: PushedBlob[]) => Promise<{ mediaType: string; bytes: Buffer }>): Promise<void> {
    const { mountFrom } = this.options;
    // The compressors' threads start while the registry answers (none for a stored blob sent as it is).
    const compressing = images.flatMap((i) => i.layers.filter((l) => !this.sentAsStored(l)));
    for (const c of new Set(compressing.map((l) => this.compressionOf(l)))) prepareCompressor(c);
    // The token also lets us pull from --mount-from, the --reuse images and the repositories of this registry the images' blobs were read from.
    const origins = images.flatMap((i) => i.layers.flatMap((l) => (l.blob?.origin?.registry === this.ref.registry ? [l.blob.origin.repository] : [])));
    const pullFrom = [...new Set([...(mountFrom === undefined ? [] : [mountFrom]), ...this.reuseRefs.map((r) => r.repository), ...origins])].filter((r) => r !== this.ref.repository);
    const client = await this.connect(this.ref, pullFrom);
    const others: RegistryClient[] = [];
    try {
      // Shipped layers are looked for only when this push has some keyed, or some whose diff_id is known unread (a docker-archive's).
      const keyed = images.some((i) => i.layers.some((l) => l.key !== undefined));
      const unkeyed = images.some((i) => i.layers.some((l) => l.key === undefined && l.known !== undefined));
      for (const ref of keyed || unkeyed ? this.reuseRefs : []) {
        const other = ref.repository === this.ref.repository ? client : await this.connect(ref, []);
        if (other !== client) others.push(other);
        await this.readShipped(other, ref.digest ?? ref.tag!, true, unkeyed);
      }
      // What the tags being replaced name now.
      const tags = new Set([...(this.ref.tag === undefined ? [] : [this.ref.tag]), ...(this.options.additionalTags ?? [])]);
      for (const tag of keyed || unkeyed ? tags : []) await this.readShipped(client, tag, false, unkeyed);
      const blobs: PushedBlob[] = [];
      const { mediaType, bytes } = await build(client, blobs);
      const digest = sha256Digest(bytes);
      if (this.ref.digest !== undefined && this.ref.digest !== digest) {
        throw new StrataError(`${formatReference(this.ref)}: the image's manifest digest is ${digest}; push by tag, or name that digest`, ExitCode.Registry);
      }
      // Each tag names the same manifest: put once per tag, the blobs sent once.
      for (const reference of new Set([this.ref.digest ?? this.ref.tag!, ...(this.options.additionalTags ?? [])])) await client.putManifest(reference, mediaType, bytes);
      await this.options.onPushed?.({ reference: formatReference(this.ref), digest, mediaType, blobs });
    } finally {
      for (const c of [client, ...others]) c.close();
      this.hasher.close();
    }
  }

  private async connect(ref: RegistryReference, pullFrom: string[]): Promise<RegistryClient> {
    return RegistryClient.connect(ref, {
      tls: await tlsSettings(ref.registry, { verify: this.options.tlsVerify, certDir: this.options.certDir }),
      ...(await resolveAuthentication(ref.registry, ref.repository, this.options)),
      pullFrom,
      retries: this.options.retries ?? DEFAULT_RETRIES,
      warn: this.options.warn,
    });
  }

  /**
   * The keyed layers of the image `client`'s repository holds under
   * `reference` (manifest and config only; each platform's of an index),
   * and each compressed layer's blob by the diff_id its config names, where
   * a layer may be found by one: `byDiffId` (this push has layers whose
   * diff_id is known unread), or an image keying none of its layers (a tool
   * that writes no keys pushed it: this push's keyed layers are then
   * measured to find theirs). What this push may take instead of reading
   * its own. A tag not there yet gives nothing; a named --reuse image must be there.
   */
  private async readShipped(client: RegistryClient, reference: string, named: boolean, byDiffId: boolean): Promise<void> {
    const accept = [this.types.manifest, mediaTypes(this.format === 'oci' ? 'docker' : 'oci').manifest, OCI_INDEX, DOCKER_MANIFEST_LIST];
    if (!named && !(await client.hasManifest(reference, accept))) return;
    const top = await client.getManifest(reference, accept);
    const parsed = JSON.parse(top.bytes.toString('utf8')) as { manifests?: Descriptor[]; layers?: Descriptor[]; config?: Descriptor };
    const manifests = Array.isArray(parsed.manifests)
      ? await Promise.all(parsed.manifests.map(async (m) => JSON.parse((await client.getManifest(m.digest, accept)).bytes.toString('utf8')) as typeof parsed))
      : [parsed];
    for (const m of manifests) {
      const { config } = m;
      let bytes: Promise<Buffer> | undefined;
      const readConfig = (): Promise<Buffer> => (bytes ??= config ? client.readBlob(config.digest) : Promise.reject(new Error('no config')));
      const keyed = await keyedLayers(m, readConfig);
      for (const l of keyed) {
        const id = `${l.key}\0${l.compression}`;
        if (!this.shipped.has(id)) this.shipped.set(id, { ...l, client });
      }
      const layers = Array.isArray(m.layers) ? m.layers : [];
      const keyless = keyed.length === 0 && layers.length > 0;
      if (!byDiffId && !keyless) continue;
      const diffIds = await configDiffIds(readConfig);
      if (diffIds?.length !== layers.length) continue;
      for (const [i, d] of layers.entries()) {
        const c = tarCompression(d.mediaType);
        if (c !== 'gzip' && c !== 'zstd') continue;
        const diffId = diffIds[i]!;
        const id = `${diffId}\0${c}`;
        const compression = keyed.find((k) => k.digest === d.digest && k.diffId === diffId)?.compression;
        if (keyless) this.unkeyedBlobs.add(c);
        this.byDiffId.set(id, [...(this.byDiffId.get(id) ?? []), { digest: d.digest, size: d.size, diffId, client, compression }]);
      }
    }
  }

  private async pushImage(client: RegistryClient, image: Image, blobs: PushedBlob[], prefix: string) {
    const count = image.layers.length;
    const pushed: Awaited<ReturnType<RegistrySink['pushLayer']>>[] = new Array(count);
    const push = async (i: number): Promise<void> => {
      const layer = image.layers[i]!;
      this.progress.layer(i, count, layer.contents.join(' '), layer.blob?.size);
      pushed[i] = await this.pushLayer(client, layer, `${prefix}layer ${i + 1}/${count}`, image.layerKeys === true);
    };
    // Stored blobs read from this registry (a HEAD, then a mount: nothing read) go first, so that a layer made here
    // with the same bytes finds its blob in place, rather than being uploaded while the mountable one waits its turn.
    const mountable = (i: number): boolean => this.sentAsStored(image.layers[i]!) && image.layers[i]!.blob?.origin?.registry === this.ref.registry;
    await inTurn(image.layers.map((_, i) => i).filter(mountable), PARALLEL_BLOBS, push);
    const indices = image.layers.map((_, i) => i).filter((i) => !mountable(i));
    // Small layers (zstd's: of one job), bound by round trips more than by CPU, go in a lane of their own beside the big
    // ones, which go largest first (zstd's in order: its frames are made one at a time).
    const zstd = (i: number): boolean => this.compressionOf(image.layers[i]!) === 'zstd';
    const small = (i: number): boolean => (zstd(i) ? layerBytes(image.layers[i]!) < ZSTD_JOB : layerBytes(image.layers[i]!) <= SMALL_LAYER);
    const big = indices.filter((i) => !small(i));
    const anyZstd = big.some(zstd);
    if (!anyZstd) big.sort((a, b) => layerBytes(image.layers[b]!) - layerBytes(image.layers[a]!) || a - b);
    await Promise.all([inTurn(big, anyZstd ? PARALLEL_ZSTD_BLOBS : PARALLEL_BLOBS, push), inTurn(indices.filter(small), SMALL_PARALLEL, push)]);
    // The report lists the layers in order, whichever finished first.
    blobs.push(...pushed.map((p) => p.record));
    const layers = pushed.map((p) => p.descriptor);
    const made = image.config(pushed.map((p) => p.diffId));
    // Docker manifests have no annotations: the keys go in the config.
    const bytes = this.format === 'docker' && image.layerKeys === true ? withKeysInConfig(made, pushed.map((p) => p.keyed)) : made;
    const config: Descriptor = { mediaType: this.types.config, digest: sha256Digest(bytes), size: bytes.length };
    this.record(blobs, await this.pushBlob(client, `${prefix}config`, { ...config, open: () => [bytes] }));
    const manifest = imageManifest(this.format, config, layers, image.annotations);
    return { manifest: { mediaType: this.types.manifest, bytes: manifest }, descriptor: { mediaType: this.types.manifest, digest: sha256Digest(manifest), size: manifest.length } };
  }

  /**
   * One layer: a stored blob as it is; else, when the cache names the blob
   * its tar compresses to and the registry has it (or can mount it), nothing
   * is read; else its tar is read once, compressed and uploaded as it is
   * made, its digests learned on the way.
   */
  private async pushLayer(client: RegistryClient, layer: Layer, what: string, sendKey: boolean): Promise<{ descriptor: Descriptor; diffId: string; record: PushedBlob; keyed?: Omit<KeyedLayer, 'digest' | 'size'> }> {
    const c = this.compressionOf(layer);
    const mediaType = this.types.layer(c);
    const compression = compressionId(c, this.options.level);
    // A blob copied as it is keeps its descriptor's annotations, unless this push keys the layer.
    const done = (digest: string, size: number, diffId: string, status: PushedBlob['status'], stored?: Record<string, string>) => {
      const record: PushedBlob = { what, digest, size, status };
      this.options.onBlob?.(record);
      const keyed = sendKey && layer.key !== undefined ? { key: layer.key, diffId, compression } : undefined;
      const kept = keyed ? keyAnnotations(keyed) : stored;
      const annotations = kept && this.format === 'oci' ? { annotations: kept } : {};
      return { descriptor: { mediaType, digest, size, ...annotations }, diffId, record, keyed };
    };
    if (this.sentAsStored(layer) && layer.blob && layer.known) {
      const { blob } = layer;
      const record = await this.pushBlob(client, what, blob);
      return done(blob.digest, blob.size, layer.known.digest, record.status, blob.annotations);
    }
    const shipped = layer.key === undefined ? undefined : this.shipped.get(`${layer.key}\0${compression}`);
    if (shipped) {
      const taken = await this.takeShipped(client, shipped, c, what);
      if (taken) return done(shipped.digest, shipped.size, shipped.diffId, taken);
    }
    const known = await this.knownBlob(layer, c);
    if (known) {
      if (await client.blobExists(known.digest)) return done(known.digest, known.size, known.diffId, 'skipped');
      if (this.options.mountFrom !== undefined && (await client.mount(known.digest, this.options.mountFrom)) === 'mounted') {
        return done(known.digest, known.size, known.diffId, 'mounted');
      }
    }
    // A layer whose tar is known, taken as a blob of that tar and compression an image of the registry holds (one made at
    // this level first): an unkeyed one's known unread; a keyed one's measured, where the registry holds blobs of this
    // compression under no key (a tool that writes none pushed them), reading it once more only if none is its.
    const tarDigest = layer.key === undefined ? layer.known : c !== 'none' && this.unkeyedBlobs.has(c) ? await this.hasher.digest(layer) : undefined;
    const same = c === 'none' || tarDigest === undefined ? [] : (this.byDiffId.get(`${tarDigest.digest}\0${c}`) ?? []);
    for (const blob of [...same.filter((b) => b.compression === compression), ...same.filter((b) => b.compression !== compression)]) {
      const taken = await this.takeShipped(client, blob, c, what);
      if (taken) return done(blob.digest, blob.size, blob.diffId, taken);
    }
    let tarInfo!: { diffId: string; size: number };
    const stored = layer.blob && compressionOf(layer.blob.mediaType) === 'none' ? layer.blob : undefined;
    // A stored tar (a docker-archive's member) is read as it is and hashed once, here: layer.open() would hash it again
    // to check it. zstd's thread hashes the tar with the blob (see hashingZstd); other tars are hashed here, as they
    // pass: the compressing threads take every core, and a hashing thread would take a copy of every chunk (with its
    // chunks in flight, a zstd push from the store went over 200 MB).
    let tar!: ReturnType<typeof checkedTar>;
    const blob = await client.uploadStream(
      what,
      () => {
        const source = stored ? { ...layer, open: () => stored.open() } : layer;
        if (c !== 'zstd') {
          tar = checkedTar(source);
          return counted(through(tar.bytes, compressor(c, this.options.level)), this.progress);
        }
        const zstd = hashingZstd(compressionLevel(c, this.options.level));
        tar = countedTar(source, () => zstd.digests().input);
        return { bytes: counted(through(tar.bytes, zstd), this.progress), digest: () => zstd.digests().output };
      },
      // A tar that is not what the layer claims is never committed.
      async () => void (tarInfo = tar.finish()),
    );
    return this.pushed(layer, c, blob, tarInfo, done);
  }

  /** A blob an image of the registry holds, unread: verified if asked, then present here, or mounted from where it was found; else undefined. */
  private async takeShipped(client: RegistryClient, shipped: Shipped, c: Compression, what: string): Promise<PushedBlob['status'] | undefined> {
    if (this.options.verifyReused) await verifyShipped(shipped, c, what);
    if (await client.blobExists(shipped.digest)) return 'skipped';
    const from = shipped.client.ref.repository;
    if (from !== this.ref.repository && (await client.mount(shipped.digest, from)) === 'mounted') return 'mounted';
    return undefined;
  }

  /** Record a layer's tar and blob digests in the cache; its result. */
  private async pushed<R>(layer: Layer, c: Compression, blob: { digest: string; size: number }, tarInfo: { diffId: string; size: number }, done: (digest: string, size: number, diffId: string, status: PushedBlob['status']) => R): Promise<R> {
    const { cache } = this.options;
    if (cache && c !== 'none') {
      if (layer.cacheKey) await cache.put(layer.cacheKey(), { digest: tarInfo.diffId, size: tarInfo.size });
      await cache.put(this.blobKey(tarInfo.diffId, c), blob);
    } else if (cache && layer.cacheKey) await cache.put(layer.cacheKey(), blob);
    return done(blob.digest, blob.size, tarInfo.diffId, 'pushed');
  }

  /** HEAD, then mount or upload; what happened to the blob. */
  private async pushBlob(client: RegistryClient, what: string, blob: UploadBlob & { origin?: Blob['origin'] }): Promise<PushedBlob> {
    let status: PushedBlob['status'] = 'skipped';
    if (!(await client.blobExists(blob.digest))) {
      // Mounted from where it was read, when that is another repository of this registry.
      const from = blob.origin?.registry === this.ref.registry && blob.origin.repository !== this.ref.repository ? blob.origin.repository : this.options.mountFrom;
      const mounted = from === undefined ? undefined : await client.mount(blob.digest, from);
      if (mounted === 'mounted') status = 'mounted';
      else {
        await client.upload(what, { ...blob, open: () => counted(blob.open(), this.progress) }, mounted);
        status = 'pushed';
      }
    }
    return { what, digest: blob.digest, size: blob.size, status };
  }

  private record(blobs: PushedBlob[], blob: PushedBlob): void {
    blobs.push(blob);
    this.options.onBlob?.(blob);
  }

  /**
   * The blob the layer makes, known without reading it: an uncompressed
   * tar's own digest, or from the cache (its tar's digest, known or cached
   * under the layer's key, then the blob that tar compressed to with these
   * settings). Keyed by the tar's digest, an entry stays true whatever
   * changes: its blob is a compression of that tar.
   */
  private async knownBlob(layer: Layer, c: Compression): Promise<{ digest: string; size: number; diffId: string } | undefined> {
    const tar = knownTar(layer);
    if (c === 'none' && tar) return { ...tar, diffId: tar.digest };
    const { cache } = this.options;
    if (!cache) return undefined;
    const diffId = tar?.digest ?? (layer.cacheKey ? (await cache.get(layer.cacheKey()))?.digest : undefined);
    if (diffId === undefined) return undefined;
    if (c === 'none') {
      const size = tar?.size ?? (await cache.get(layer.cacheKey!()))?.size;
      return size === undefined ? undefined : { digest: diffId, size, diffId };
    }
    const blob = await cache.get(this.blobKey(diffId, c));
    return blob ? { ...blob, diffId } : undefined;
  }

  private blobKey(diffId: string, c: Exclude<Compression, 'none'>): string {
    return `registry blob\0${compressionId(c, this.options.level)}\0${diffId}`;
  }

  /** Whether the layer's stored blob is sent as it is: it has the compression the push gives the layer. */
  private sentAsStored(layer: Layer): boolean {
    return layer.blob !== undefined && layer.known !== undefined && compressionOf(layer.blob.mediaType) === this.compressionOf(layer);
  }

  /** As asked; else a stored compressed blob keeps its compression (if the format has it), and tars are gzipped. */
  private compressionOf(layer: Layer): Compression {
    if (this.options.compression) return this.options.compression;
    const stored = layer.blob && layer.known ? compressionOf(layer.blob.mediaType) : 'none';
    return stored === 'none' || (stored === 'zstd' && this.format === 'docker') ? 'gzip' : stored;
  }
}

/** A layer an image in the registry holds (by its key, or by the diff_id its config names), and the repository it is in. */
interface Shipped extends Omit<KeyedLayer, 'key' | 'compression'> {
  key?: string;
  compression?: string;
  client: RegistryClient;
}

/** The rootfs.diff_ids of an image config; undefined when it has none. */
async function configDiffIds(config: () => Promise<Buffer>): Promise<string[] | undefined> {
  try {
    return diffIdsOf(parsePyJson((await config()).toString('utf8'), 'config'), 'config');
  } catch {
    return undefined;
  }
}

/** A layer media type's compression; undefined for one that is not a tar (foreign layers and the like). */
function tarCompression(mediaType: string): Compression | undefined {
  try {
    return compressionOf(mediaType);
  } catch {
    return undefined;
  }
}

/** Download a blob taken by its key or diff_id: refused unless it is its digest and decompresses to its diff_id. */
async function verifyShipped(shipped: Shipped, c: Compression, what: string): Promise<void> {
  const where = `${formatReference(shipped.client.ref)}`;
  // Streamed: the blob hashed as it arrives, its tar as it decompresses.
  const blob = new StreamDigest();
  const tar = new StreamDigest();
  async function* hashed(): AsyncGenerator<Buffer> {
    for await (const chunk of shipped.client.getBlob(shipped.digest)) {
      blob.update(chunk);
      yield chunk;
    }
  }
  try {
    for await (const chunk of through(hashed(), decompressor(c))) tar.update(chunk);
  } catch (e) {
    throw new StrataError(`--verify-reused: ${what}: ${(e as Error).message}; the image at ${where} is not what it says, push without --reuse of it`, ExitCode.Integrity);
  }
  if (blob.digest() !== shipped.digest) {
    throw new StrataError(`--verify-reused: ${what}: blob ${shipped.digest} of ${where} hashes to ${blob.digest()}; refusing it`, ExitCode.Integrity);
  }
  const diffId = tar.digest();
  if (diffId !== shipped.diffId) {
    const named = shipped.key === undefined ? `its config's diff_id ${shipped.diffId}` : `the ${shipped.diffId} its key ${shipped.key.slice(0, 19)} names`;
    throw new StrataError(`--verify-reused: ${what}: blob ${shipped.digest} of ${where} holds the tar ${diffId}, not ${named}; refusing it (${shipped.key === undefined ? "that image's config is wrong" : "that image's annotations are wrong"})`, ExitCode.Integrity);
  }
}

/** A layer's bytes as far as they are known unread (its stored blob's, else its tar's); unknown as large. */
function layerBytes(layer: Layer): number {
  return layer.blob?.size ?? layer.known?.size ?? Infinity;
}

/** `work` on each item, in turn, at most `limit` at once. */
async function inTurn<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
