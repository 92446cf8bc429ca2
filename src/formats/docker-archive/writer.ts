import { ExitCode, StrataError } from '../../errors.js';
import type { ByteSink } from '../../output.js';
import { type Progress, silent } from '../../progress.js';
import { encodeHeader, endOfArchive, padding, tarHeader } from '../../tar/header.js';
import { dumpPyJson, type PyValue } from '../../util/pyjson.js';
import type { DigestCache } from '../../layer/digest-cache.js';
import { LayerHasher } from '../../layer/hasher.js';
import { recycleChunk } from '../../tar/chunked-tar.js';
import { HashThread } from '../../util/hash-thread.js';
import { type Bytes, type Image, type ImageSink, type Layer, knownTar } from '../../model/image.js';
import { sha256Hex } from '../../model/digest.js';

/** How a docker-archive names its layer members. */
export interface DockerArchiveOptions {
  /**
   * `<sha256 of the layer>/layer.tar` (nixpkgs' names, so nixpkgs' bytes)
   * also on a pipe, where a layer whose digest is neither known nor cached
   * is then read twice. Files always get these names.
   */
  nixpkgsNames?: boolean;
  /** Layers the archive's reader already holds (an engine's load): written as empty members. */
  held?: HeldLayer;
  /** NAME:TAG for RepoTags in place of the image's own, as `docker-archive:FILE:NAME:TAG` names it. */
  repoTag?: string;
}

/**
 * Whether the reader of the archive already holds the layer that ends the
 * chain `diffIds` (bottom first): its member is then written empty, the
 * manifest still naming it (docker and podman load such an archive when they
 * hold the layer, and refuse it when they do not).
 */
export type HeldLayer = (diffIds: readonly string[], size: number) => boolean;

/** A layer member whose name waits for its digest: where its header goes, and how long it is. */
type Reserved = { at: number; length: number };

/**
 * Docker Image Spec v1.2 archive (what `docker load`, `podman load` and
 * `skopeo copy docker-archive:` read), in the member order and format of
 * nixpkgs' stream_layered_image.py, each layer's files read once:
 *
 * - to a file, layers are named by digest as nixpkgs names them: a layer's
 *   header is reserved, its bytes (length from a metadata walk) written and
 *   hashed, and the header written in place once the digest is known;
 * - to a pipe, a layer is named by its inputs (`<key>/layer.tar`, 64 hex
 *   digits like a digest), so its header can go first; with `nixpkgsNames`,
 *   by digest, from the conf or the cache, or hashed ahead in a worker
 *   thread while earlier layers are sent, then sent and checked.
 *
 * The config and manifest.json come last, once every layer is checked: a
 * file changed while read stops the archive before they make it whole.
 */
export class DockerArchiveSink implements ImageSink {
  constructor(
    private readonly out: ByteSink,
    private readonly progress: Progress = silent,
    private readonly cache?: DigestCache,
    private readonly options: DockerArchiveOptions = {},
  ) {}

  async write(image: Image): Promise<void> {
    // Started only when a layer is hashed as it is sent.
    let hash: HashThread | undefined;
    const hasher = new LayerHasher(this.cache);
    try {
      await this.writeWith(image, hasher, () => (hash ??= new HashThread(recycleChunk)));
    } finally {
      hasher.close();
      hash?.close();
    }
  }

  /** How a layer is written: header after the content (file), named by its inputs (pipe), or digest first. */
  private plan(layer: Layer): 'patch' | 'key' | 'digest-first' {
    // A held layer is known by its chain of digests, so digests come first.
    if (!layer.walk || this.options.held) return 'digest-first';
    if (this.out.patch) return knownTar(layer) ? 'digest-first' : 'patch';
    // By inputs whether or not the digest is known, so names never depend on it.
    return !this.options.nixpkgsNames && layer.inputKey ? 'key' : 'digest-first';
  }

  private async writeWith(image: Image, hasher: LayerHasher, hashThread: () => HashThread): Promise<void> {
    const plans = image.layers.map((l) => this.plan(l));
    // Digests needed before the layer's bytes, computed ahead in worker threads.
    const ahead = hasher.digests(image.layers.filter((_, i) => plans[i] === 'digest-first'));
    let offset = 0;
    const put = async (chunk: Buffer): Promise<void> => {
      offset += chunk.length;
      this.progress.bytes(chunk.length);
      await this.out.write(chunk);
    };
    // `walked`: the layer's files and bytes, when packed from a walk.
    const send = (layer: Layer, bytes: Bytes, size: number, name: string, hashed: boolean, walked?: { size: number; files: number }): Promise<{ hex: Promise<string> } | undefined> => {
      const { out } = this;
      // A sink that writes on its own thread takes the chunks, hashing them on whichever thread has less else to do.
      if (out.handOver && out.digest && out.hashSide) {
        const handOver = out.handOver.bind(out);
        const side = hashed ? (walked ? out.hashSide(walked) : 'caller') : undefined;
        const give = (chunk: Buffer): Promise<void> => {
          offset += chunk.length;
          this.progress.bytes(chunk.length);
          return handOver(chunk, side);
        };
        return sendLayer(layer, bytes, size, name, give, hashed ? () => out.digest!() : undefined);
      }
      const hash = hashed ? hashThread() : undefined;
      const write = async (chunk: Buffer): Promise<void> => {
        await put(chunk);
        // Written through (stdout pipes and files are synchronous on Linux): the chunk can move to the hashing thread.
        if (hash) await hash.update(chunk, out.flushed);
        else if (out.flushed) recycleChunk(chunk);
      };
      return sendLayer(layer, bytes, size, name, write, hash && (() => hash.digest()));
    };
    const names: string[] = [];
    // Each layer's digest, checked once all are sent; and, for reserved headers, where they go.
    const layers: { name: string; size: number; digest: () => Promise<string>; reserved?: Reserved; layer: Layer }[] = [];
    let next = 0;
    // The digests of the layers so far, where digests come first (held layers are known by them).
    const chain: string[] = [];
    for (const [i, layer] of image.layers.entries()) {
      const plan = plans[i]!;
      if (plan === 'digest-first') {
        const { digest, size, measured, cachedAs } = await ahead[next++]!;
        this.progress.layer(i, image.layers.length, layer.contents.join(' '), size);
        const name = layer.member?.name ?? `${hexOf(digest)}/layer.tar`;
        chain.push(digest);
        if (this.options.held?.(chain, size)) {
          await put(encodeHeader(tarHeader({ mtime: image.mtime, ...layer.member, name, size: 0 })));
          layers.push({ name, size: 0, layer, digest: () => Promise.resolve(digest) });
          continue;
        }
        await put(encodeHeader(tarHeader({ mtime: image.mtime, ...layer.member, name, size })));
        // Hashed again unless this run measured it from files that check themselves.
        const verify = !(measured && layer.fingerprints);
        const got = await send(layer, layer.open(), size, name, verify);
        // A digest the cache held that the bytes belie is dropped from it: the next run measures the layer again.
        const stale = cachedAs === undefined ? undefined : async () => this.cache!.drop(cachedAs);
        layers.push({ name, size, layer, digest: () => (got ? checkDigest(layer, name, got.hex, digest, stale) : Promise.resolve(digest)) });
      } else {
        // Walked before it is read (right before, or ahead by the platform guard): a file changed in between stops the layer.
        const cacheKey = this.cache && layer.cacheKey ? layer.cacheKey() : undefined;
        const walked = layer.walk!();
        // Kept apart from the walk, so the walk is freed once the layer is sent.
        const size = walked.size;
        this.progress.layer(i, image.layers.length, layer.contents.join(' '), size);
        // Messages name a layer whose name waits for its digest by its place.
        let name = `#${i + 1}`;
        let reserved: Reserved | undefined;
        if (plan === 'key') {
          name = `${layer.inputKey!()}/layer.tar`;
          await put(encodeHeader(tarHeader({ mtime: image.mtime, ...layer.member, name, size: walked.size })));
        } else {
          // The header's length depends on the name's length and the size alone.
          const length = encodeHeader(tarHeader({ mtime: image.mtime, ...layer.member, name: `${'0'.repeat(64)}/layer.tar`, size: walked.size })).length;
          reserved = { at: offset, length };
          await put(Buffer.alloc(length));
        }
        const got = (await send(layer, walked.open(), walked.size, name, true, walked))!;
        const known = layer.known?.digest;
        layers.push({
          name,
          size,
          layer,
          reserved,
          digest: async () => {
            const digest = known ? await checkDigest(layer, name, got.hex, known) : `sha256:${await got.hex}`;
            // What this run measured serves later runs that need digests first (and pushes).
            if (cacheKey !== undefined) await this.cache!.put(cacheKey, { digest, size });
            return digest;
          },
        });
      }
      await put(padding(layers.at(-1)!.size));
    }
    // Every layer checked before the config and manifest make the archive whole.
    const diffIds: string[] = [];
    for (const l of layers) {
      const digest = await l.digest();
      diffIds.push(digest);
      let name = l.name;
      if (l.reserved) {
        name = `${hexOf(digest)}/layer.tar`;
        const header = encodeHeader(tarHeader({ mtime: image.mtime, ...l.layer.member, name, size: l.size }));
        if (header.length !== l.reserved.length) throw new Error(`layer header of ${header.length} bytes where ${l.reserved.length} were reserved`);
        await this.out.patch!(l.reserved.at, header);
      }
      names.push(name);
    }
    const config = image.config(diffIds);
    const configName = `${sha256Hex(config)}.json`;
    const manifest: PyValue = [new Map<string, PyValue>([['Config', configName], ['RepoTags', this.options.repoTag === undefined ? image.repoTags : [this.options.repoTag]], ['Layers', names]])];
    for (const [name, bytes] of [[configName, config], ['manifest.json', Buffer.from(dumpPyJson(manifest, 4))]] as const) {
      await put(encodeHeader(tarHeader({ name, size: bytes.length, mtime: image.mtime })));
      await put(bytes);
      await put(padding(bytes.length));
    }
    await put(endOfArchive(offset));
  }
}

const hexOf = (digest: string): string => digest.slice('sha256:'.length);

const changed = (layer: Layer, name: string, what: string): StrataError =>
  new StrataError(`layer ${name} (${layer.contents.join(' ')}): ${what}; its files changed while the image was written, or the recorded digest is wrong`, ExitCode.Integrity);

/** The digest the bytes sent had, unless not `expected`; `stale`, where `expected` came from the digest cache, forgets it there. */
async function checkDigest(layer: Layer, name: string, got: Promise<string>, expected: string, stale?: () => Promise<void>): Promise<string> {
  const actual = `sha256:${await got}`;
  if (actual === expected) return expected;
  if (!stale) throw changed(layer, name, `content digest ${actual} instead of ${expected}`);
  await stale();
  throw new StrataError(
    `layer ${name} (${layer.contents.join(' ')}): content digest ${actual} instead of ${expected}, the digest cache's; its files changed since it was cached, ` +
      'which a store never does (a writable directory used as one can): the entry is dropped, so the next run measures the layer again (--no-cache skips the cache)',
    ExitCode.Integrity,
  );
}

/**
 * Send a layer's bytes (`send` owns each chunk it is given), counting them
 * as they go; with `digest`, returns the hex digest to come of what was
 * sent, so the next layer can be sent meanwhile. Too many bytes stop the
 * layer before they are written, too few after.
 */
async function sendLayer(
  layer: Layer,
  bytes: Bytes,
  size: number,
  name: string,
  send: (chunk: Buffer) => Promise<void>,
  digest: (() => Promise<string>) | undefined,
): Promise<{ hex: Promise<string> } | undefined> {
  let sent = 0;
  for await (const chunk of bytes) {
    if (sent + chunk.length > size) throw changed(layer, name, `more than the ${size} bytes measured`);
    sent += chunk.length;
    await send(chunk);
  }
  if (sent !== size) throw changed(layer, name, `${sent} bytes instead of the ${size} measured`);
  if (!digest) return undefined;
  const got = digest();
  // Observed when the archive is finished; a failure before then is reported where it happened.
  got.catch(() => {});
  // Wrapped, so awaiting the send does not await the digest.
  return { hex: got };
}
