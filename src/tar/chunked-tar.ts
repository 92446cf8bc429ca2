import { type Stats, closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { ExitCode, StrataError } from '../errors.js';
import { fsName } from '../util/surrogateescape.js';
import { BLOCK, type TarHeader, TarType, encodeHeader, endOfArchive, writeHeader } from './header.js';
import type { ListedStat } from './tree-walk.js';
import { markOwn } from '../util/streams.js';

// strata's own tar encoder, not tar-stream: it writes store and
// customisation layers and the docker-archive stream, where the bytes must
// be nixpkgs' exactly (header fields, pax records, member order) and where
// it packs headers and file contents into reused 1 MiB chunks read straight
// from the files (README, "tar-stream and strata's encoder", has the
// measurement). Tars written in sequence without those needs use tar-stream.

export const CHUNK = 1 << 20;

// Chunks whose reader is done with them (see util/hash-thread.ts), filled
// again instead of leaving a megabyte of garbage per chunk.
const spare: Buffer[] = [];
// Enough for the chunks in flight at once (a writing thread's window, a compressor's blocks); 32 kept up to 20 MB more
// alive in an OCI archive's zstd or gzip layers, with no run measured faster.
const SPARE_CHUNKS = 16;

/**
 * Give back a chunk (or its memory) nothing reads any more. Memory of a
 * chunk's size is kept, also under the shorter last chunk of a layer (a
 * chunk owns its memory alone: allocUnsafe gives sizes beyond Node's pool
 * their own).
 */
export function recycleChunk(chunk: Buffer | ArrayBuffer): void {
  const memory = chunk instanceof ArrayBuffer ? chunk : chunk.byteOffset === 0 ? chunk.buffer : undefined;
  if (memory instanceof ArrayBuffer && memory.byteLength === CHUNK && spare.length < SPARE_CHUNKS) spare.push(Buffer.from(memory));
}

/** A 1 MiB chunk to fill: a recycled one, else new memory. */
export const newChunk = (): Buffer => spare.pop() ?? Buffer.allocUnsafe(CHUNK);

/**
 * A tar stream built in 1 MiB chunks: headers and small files are packed
 * together, file contents are read straight into the chunk. A chunk handed
 * out is never written again.
 */
export class ChunkedTar {
  private buf = newChunk();
  private pos = 0;
  /** Bytes of the archive so far. */
  offset = 0;
  // Chunks filled by a header or padding, handed out by the next yield.
  private readonly full: Buffer[] = [];

  *write(bytes: Buffer): Generator<Buffer> {
    this.put(bytes);
    yield* this.flush();
  }

  /**
   * A member: its header, then for regular files exactly `size` bytes of
   * content and the padding. With `listed` (the file's stat when it was
   * listed), a file modified while read stops the layer.
   */
  *entry(header: TarHeader, path: string, listed?: ListedStat): Generator<Buffer> {
    const direct = writeHeader(this.buf, this.pos, CHUNK - this.pos, header);
    if (direct > 0) this.advance(direct);
    else this.put(encodeHeader(header));
    if (header.type !== TarType.File || header.size === 0) return yield* this.flush();
    yield* this.flush();
    yield* this.content(path, header.size, listed);
    const rest = header.size % BLOCK;
    if (rest !== 0) this.zeros(BLOCK - rest);
    yield* this.flush();
  }

  *end(): Generator<Buffer> {
    yield* this.write(endOfArchive(this.offset));
    if (this.pos > 0) yield this.buf.subarray(0, this.pos);
    this.pos = 0;
  }

  private put(bytes: Buffer): void {
    for (let from = 0; from < bytes.length; ) {
      const n = bytes.copy(this.buf, this.pos, from);
      from += n;
      this.advance(n);
    }
  }

  private zeros(n: number): void {
    while (n > 0) {
      const k = Math.min(n, CHUNK - this.pos);
      this.buf.fill(0, this.pos, this.pos + k);
      n -= k;
      this.advance(k);
    }
  }

  private *flush(): Generator<Buffer> {
    while (this.full.length > 0) yield this.full.shift()!;
  }

  private *content(path: string, size: number, listed?: ListedStat): Generator<Buffer> {
    let fd: number;
    try {
      fd = openSync(fsName(path), 'r');
    } catch (e) {
      throw new StrataError(`${path}: cannot read (${(e as NodeJS.ErrnoException).code})`, ExitCode.Integrity);
    }
    try {
      let left = size;
      while (left > 0) {
        const n = readSync(fd, this.buf, this.pos, Math.min(left, CHUNK - this.pos), null);
        if (n === 0) throw new StrataError(`${path}: file shrank while being read (expected ${size} bytes); is something modifying the store?`, ExitCode.Integrity);
        left -= n;
        this.advance(n);
        yield* this.flush();
      }
      if (listed && !sameFile(listed, fstatSync(fd))) {
        throw new StrataError(`${path}: changed while the image was written; is something modifying the store?`, ExitCode.Integrity);
      }
    } finally {
      closeSync(fd);
    }
  }

  private advance(n: number): void {
    this.pos += n;
    this.offset += n;
    if (this.pos === CHUNK) {
      // Its reader may hand it to a compressing thread uncopied; its memory comes back through recycleChunk.
      this.full.push(markOwn(this.buf));
      this.buf = newChunk();
      this.pos = 0;
    }
  }
}

function sameFile(a: ListedStat, b: Stats): boolean {
  return a.size === b.size && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs && a.ino === b.ino;
}
