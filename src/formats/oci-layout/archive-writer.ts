import { createReadStream } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { ExitCode, StrataError, fileError } from '../../errors.js';
import { type ByteSink, scratchFile } from '../../output.js';
import { type Progress, silent } from '../../progress.js';
import { doneWith, through } from '../../util/streams.js';
import { HashThread } from '../../util/hash-thread.js';
import { claimed } from '../../image/checked-tar.js';
import { type Compression, compressionLevel, compressor } from '../../image/compression.js';
import { hashingZstd } from '../../image/block-compression.js';
import { type Blob, type Bytes, type Descriptor, type Image, type ImageSink, type Layer, knownTar } from '../../model/image.js';
import { OCI_INDEX } from '../../model/media-types.js';
import { StreamDigest, sha256Digest } from '../../model/digest.js';
import { TarType, encodeHeader, endOfArchive, padding, tarHeader } from '../../tar/header.js';
import { recycleChunk } from '../../tar/chunked-tar.js';
import { type BlobTarget, LAYOUT_MARKER, type OciOptions, checkPlatforms, named, writeImageBlobs, writeIndexBlobs } from './layout-writer.js';

/** Sizes from here on do not fit a ustar header's octal field: a pax record carries them. */
const PAX_SIZE = 8 ** 11;

/**
 * An OCI layout in one tar file (skopeo's oci-archive), written in one pass:
 * each blob is a member `blobs/sha256/<hex>` whose header (of a fixed length:
 * the name's length is fixed) is reserved, then the blob written and hashed,
 * then the header written in place with the digest and the size. Members, in
 * order: the directories `blobs/` and `blobs/sha256/`; each image's layers,
 * config and manifest as written (then a multi-platform index); index.json;
 * oci-layout. A sink that cannot be patched (a pipe, a device) gets the same
 * bytes, made in a scratch file beside it and copied.
 */
export class OciArchiveSink implements ImageSink {
  constructor(
    private readonly out: ByteSink,
    /** The destination as the user named it. */
    private readonly near: string,
    private readonly options: OciOptions = {},
  ) {}

  write(image: Image): Promise<void> {
    return this.archive(image.mtime, async (blobs) => ({ ...(await writeImageBlobs(blobs, image, this.options)), platform: image.platform }));
  }

  writeIndex(images: Image[]): Promise<void> {
    checkPlatforms(images);
    return this.archive(images[0]?.mtime ?? 0, (blobs) => writeIndexBlobs(blobs, images, this.options));
  }

  private async archive(mtime: number, fill: (blobs: BlobTarget) => Promise<Descriptor>): Promise<void> {
    if (this.out.patch) return this.into(this.out, mtime, fill);
    const scratch = scratchFile(join(dirname(this.near), `.${basename(this.near)}.strata-${process.pid}-${randomBytes(4).toString('hex')}`), this.near);
    try {
      await this.into(scratch.sink, mtime, fill);
      await scratch.sink.end();
      for await (const chunk of createReadStream(scratch.path, { highWaterMark: 1 << 20 })) await this.out.write(chunk as Buffer);
    } finally {
      await scratch.remove();
    }
  }

  private async into(out: ByteSink, mtime: number, fill: (blobs: BlobTarget) => Promise<Descriptor>): Promise<void> {
    const members = new ArchiveMembers(out, mtime, this.options.progress ?? silent);
    try {
      await members.begin();
      const index = { schemaVersion: 2, mediaType: OCI_INDEX, manifests: [named(await fill(members), this.options.ref)] };
      await members.end(Buffer.from(JSON.stringify(index)));
    } catch (e) {
      throw fileError(this.near, e);
    } finally {
      members.close();
    }
  }
}

/** The members of an OCI archive, written in sequence into a sink that can be patched. */
class ArchiveMembers implements BlobTarget {
  private offset = 0;
  private readonly written = new Set<string>();
  // Started by the first layer whose tar is hashed.
  private hash: HashThread | undefined;

  constructor(
    private readonly out: ByteSink,
    private readonly mtime: number,
    private readonly progress: Progress,
  ) {}

  async begin(): Promise<void> {
    for (const name of ['blobs', 'blobs/sha256']) await this.put(encodeHeader(tarHeader({ name, type: TarType.Directory, mode: 0o755, mtime: this.mtime })));
  }

  async end(indexJson: Buffer): Promise<void> {
    await this.file('index.json', indexJson);
    await this.file('oci-layout', LAYOUT_MARKER);
    await this.put(endOfArchive(this.offset));
  }

  close(): void {
    this.hash?.close();
  }

  async putBytes(bytes: Buffer): Promise<string> {
    const digest = sha256Digest(bytes);
    if (!this.written.has(digest)) await this.file(blobName(digest), bytes);
    this.written.add(digest);
    return digest;
  }

  async putBlob(blob: Blob): Promise<void> {
    if (this.written.has(blob.digest)) return;
    const { digest, size } = await this.blob(blob.size, async () => {
      const sum = new StreamDigest();
      for await (const chunk of blob.open()) {
        sum.update(chunk);
        await this.put(chunk, true);
      }
      return { digest: sum.digest(), size: sum.size };
    });
    if (digest !== blob.digest || size !== blob.size) {
      throw new StrataError(`blob ${blob.digest}: its content hashes to ${digest} (${size} bytes); the source image is corrupt`, ExitCode.Integrity);
    }
  }

  /**
   * The tar read once, from the walk that measured it where the layer has
   * one: a file changed since stops it (exit 4), as does a tar of another
   * length or, where the layer's digest is known, another digest.
   */
  async putTar(layer: Layer, compression: Compression, level: number | undefined): Promise<{ digest: string; size: number; diffId: string }> {
    const walked = layer.walk?.();
    const expected = walked?.size ?? knownTar(layer)?.size;
    const hashThread = () => (this.hash ??= new HashThread(recycleChunk));
    let sent = 0;
    const counted = async function* (source: Bytes): AsyncGenerator<Buffer> {
      for await (const chunk of source) {
        if (expected !== undefined && sent + chunk.length > expected) throw changed(layer, `more than the ${expected} bytes measured`);
        sent += chunk.length;
        yield chunk;
      }
      if (expected !== undefined && sent !== expected) throw changed(layer, `${sent} bytes instead of the ${expected} measured`);
    };
    const tar = counted(walked ? walked.open() : layer.open());
    if (compression === 'none') {
      // Packed from a walk, a chunk is read by nothing else once sent: a sink writing on its own thread takes its memory (no copy) and hashes it.
      const { out } = this;
      const handOver = walked !== undefined && out.handOver !== undefined && out.digest !== undefined && out.hashSide !== undefined ? out.handOver.bind(out) : undefined;
      const { digest, size } = await this.blob(expected, async () => {
        if (handOver) {
          const side = out.hashSide!(walked!);
          for await (const chunk of tar) {
            this.count(chunk);
            await handOver(chunk, side);
          }
          return { digest: claimed(layer, `sha256:${await out.digest!()}`, sent).diffId, size: sent };
        }
        const hash = hashThread();
        for await (const chunk of tar) {
          await this.put(chunk, true);
          // Packed from a walk, the chunk is read by nothing else once written through: its memory moves to the hashing thread.
          await hash.update(chunk, walked !== undefined && out.flushed);
        }
        return { digest: claimed(layer, `sha256:${await hash.digest()}`, sent).diffId, size: sent };
      });
      return { digest, size, diffId: digest };
    }
    // Compressed bytes run a little longer than the tar at worst.
    const bound = expected === undefined ? undefined : expected + Math.floor(expected / 128) + 65536;
    if (compression === 'zstd') {
      // zstd's thread hashes the tar and the blob as it makes it: no copy of each chunk goes to a hashing thread.
      const zstd = hashingZstd(compressionLevel(compression, level));
      const { digest, size } = await this.blob(bound, () => this.compressed(through(tar, zstd), () => `sha256:${zstd.digests().output}`));
      return { digest, size, diffId: claimed(layer, `sha256:${zstd.digests().input}`, sent).diffId };
    }
    // Both digests here: gzip's threads take every core, and a hashing thread would take a copy of each chunk.
    const tarSum = new StreamDigest();
    const tarHashed = async function* (): AsyncGenerator<Buffer> {
      for await (const chunk of tar) {
        tarSum.update(chunk);
        yield chunk;
      }
    };
    const sum = new StreamDigest();
    const hashed = async function* (): AsyncGenerator<Buffer> {
      for await (const chunk of through(tarHashed(), compressor(compression, level))) {
        sum.update(chunk);
        yield chunk;
      }
    };
    const { digest, size } = await this.blob(bound, () => this.compressed(hashed(), () => sum.digest()));
    return { digest, size, diffId: claimed(layer, tarSum.digest(), sent).diffId };
  }

  /** A compressed blob's bytes written as they come; `digest` once they are through. */
  private async compressed(bytes: AsyncIterable<Buffer>, digest: () => string): Promise<{ digest: string; size: number }> {
    const { out } = this;
    let size = 0;
    for await (const chunk of bytes) {
      size += chunk.length;
      this.count(chunk);
      // A compressor's output is in memory of its own, read by nothing else: a sink writing on its own thread takes it uncopied.
      if (out.handOver) await out.handOver(chunk);
      else {
        await out.write(chunk);
        doneWith(chunk);
      }
    }
    return { digest: digest(), size };
  }

  /**
   * A blob member: its header reserved (with a pax size record where the
   * blob may reach 8 GiB, or has no size known up front, so the length
   * depends on the inputs alone), the bytes written by `fill`, then the
   * header written in place.
   */
  private async blob(bound: number | undefined, fill: () => Promise<{ digest: string; size: number }>): Promise<{ digest: string; size: number }> {
    const pax = bound === undefined || bound >= PAX_SIZE;
    const at = this.offset;
    const length = this.blobHeader('sha256:'.padEnd(71, '0'), 0, pax).length;
    await this.put(Buffer.alloc(length));
    const start = this.offset;
    const { digest, size } = await fill();
    if (this.offset - start !== size) throw new Error(`blob of ${size} bytes where ${this.offset - start} were written`);
    const header = this.blobHeader(digest, size, pax);
    if (header.length !== length) throw new Error(`blob header of ${header.length} bytes where ${length} were reserved`);
    await this.out.patch!(at, header);
    await this.put(padding(size));
    this.written.add(digest);
    return { digest, size };
  }

  private blobHeader(digest: string, size: number, pax: boolean): Buffer {
    return encodeHeader(tarHeader({ name: blobName(digest), size, mtime: this.mtime, ...(pax && { pax: new Map([['size', String(size)]]) }) }));
  }

  private async file(name: string, bytes: Buffer): Promise<void> {
    await this.put(encodeHeader(tarHeader({ name, size: bytes.length, mtime: this.mtime })));
    await this.put(bytes);
    await this.put(padding(bytes.length));
  }

  private async put(chunk: Buffer, counted = false): Promise<void> {
    if (counted) this.count(chunk);
    else this.offset += chunk.length;
    await this.out.write(chunk);
  }

  /** A chunk of a blob, about to be sent. */
  private count(chunk: Buffer): void {
    this.offset += chunk.length;
    this.progress.bytes(chunk.length);
  }
}

const blobName = (digest: string): string => `blobs/sha256/${digest.slice('sha256:'.length)}`;

const changed = (layer: Layer, what: string): StrataError =>
  new StrataError(`layer (${layer.contents.join(' ')}): ${what}; its files changed while the image was written`, ExitCode.Integrity);
