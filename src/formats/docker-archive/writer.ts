import { ExitCode, StrataError } from '../../errors.js';
import type { ByteSink } from '../../output.js';
import { type Progress, silent } from '../../progress.js';
import { encodeHeader, endOfArchive, padding, tarHeader } from '../../tar/header.js';
import { dumpPyJson, type PyValue } from '../../util/pyjson.js';
import type { DigestCache } from '../../layer/digest-cache.js';
import { LayerHasher } from '../../layer/hasher.js';
import { recycleChunk } from '../../tar/chunked-tar.js';
import { HashThread } from '../../util/hash-thread.js';
import type { Image, ImageSink, Layer } from '../../model/image.js';
import { sha256Hex } from '../../model/digest.js';

/**
 * Docker Image Spec v1.2 archive (what `docker load`, `podman load` and
 * `skopeo copy docker-archive:` read), written as a stream in the member
 * order and format of nixpkgs' stream_layered_image.py. A layer whose digest
 * is neither known nor cached is read twice: hashed ahead in a worker thread
 * while earlier layers are sent, then sent, the second read checked against
 * the first.
 */
export class DockerArchiveSink implements ImageSink {
  constructor(
    private readonly out: ByteSink,
    private readonly progress: Progress = silent,
    private readonly cache?: DigestCache,
    /** NAME:TAG for RepoTags in place of the image's own, as `docker-archive:FILE:NAME:TAG` names it. */
    private readonly repoTag?: string,
  ) {}

  async write(image: Image): Promise<void> {
    const hasher = new LayerHasher(this.cache);
    // Started only when a layer needs checking: a cold run checks by fingerprints.
    let hash: HashThread | undefined;
    const hashThread = (): HashThread => (hash ??= new HashThread(recycleChunk));
    try {
      await this.writeWith(image, hasher.digests(image.layers), hashThread);
    } finally {
      hasher.close();
      hash?.close();
    }
  }

  private async writeWith(
    image: Image,
    digests: Promise<{ digest: string; size: number; measured?: boolean }>[],
    hashThread: () => HashThread,
  ): Promise<void> {
    let offset = 0;
    const checks: (() => Promise<void>)[] = [];
    const put = async (chunk: Buffer): Promise<void> => {
      offset += chunk.length;
      this.progress.bytes(chunk.length);
      await this.out.write(chunk);
    };
    const names: string[] = [];
    const diffIds: string[] = [];
    for (const [i, layer] of image.layers.entries()) {
      const { digest, size, measured } = await digests[i]!;
      this.progress.layer(i, image.layers.length, layer.contents.join(' '), size);
      const name = layer.member?.name ?? `${digest.slice('sha256:'.length)}/layer.tar`;
      await put(encodeHeader(tarHeader({ mtime: image.mtime, ...layer.member, name, size })));
      // Hashed again unless this run measured it from files that check themselves.
      const verify = !(measured && layer.fingerprints);
      checks.push(await sendVerified(layer, { digest, size, name }, put, verify ? hashThread() : undefined, () => this.out.flushed));
      await put(padding(size));
      names.push(name);
      diffIds.push(digest);
    }
    // Every layer checked before the config and manifest make the archive whole.
    for (const check of checks) await check();
    const config = image.config(diffIds);
    const configName = `${sha256Hex(config)}.json`;
    const manifest: PyValue = [new Map<string, PyValue>([['Config', configName], ['RepoTags', this.repoTag === undefined ? image.repoTags : [this.repoTag]], ['Layers', names]])];
    for (const [name, bytes] of [[configName, config], ['manifest.json', Buffer.from(dumpPyJson(manifest, 4))]] as const) {
      await put(encodeHeader(tarHeader({ name, size: bytes.length, mtime: image.mtime })));
      await put(bytes);
      await put(padding(bytes.length));
    }
    await put(endOfArchive(offset));
  }
}

/**
 * Send a layer, counting its bytes as they go and, with `hash`, hashing them
 * on another thread; the returned promise checks the digest, so the next
 * layer can be sent meanwhile. Too many bytes stop the layer before they are
 * written.
 */
async function sendVerified(
  layer: Layer,
  expected: { digest: string; size: number; name: string },
  put: (b: Buffer) => Promise<void>,
  hash: HashThread | undefined,
  flushed: () => boolean,
): Promise<() => Promise<void>> {
  const { digest, size, name } = expected;
  let sent = 0;
  const changed = (what: string): StrataError =>
    new StrataError(`layer ${name} (${layer.contents.join(' ')}): ${what}; its files changed while the image was written, or the recorded digest is wrong`, ExitCode.Integrity);
  for await (const chunk of layer.open()) {
    if (sent + chunk.length > size) throw changed(`more than the ${size} bytes measured`);
    sent += chunk.length;
    await put(chunk);
    // Written through (stdout pipes and files are synchronous on Linux): the chunk can move to the hashing thread.
    if (hash) await hash.update(chunk, flushed());
    else if (flushed()) recycleChunk(chunk);
  }
  if (sent !== size) throw changed(`${sent} bytes instead of the ${size} measured`);
  if (!hash) return async () => {};
  const got = hash.digest();
  return async () => {
    const actual = `sha256:${await got}`;
    if (actual !== digest) throw changed(`content digest ${actual} instead of ${digest}`);
  };
}
