import { type Stats, closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { ExitCode, StrataError } from '../errors.js';
import type { ReadFailure } from '../util/hash-thread.js';
import { fsName } from '../util/surrogateescape.js';
import { BLOCK, type TarHeader, TarType, encodeHeader, endOfArchive, writeHeader } from './header.js';
import type { ListedStat } from './tree-walk.js';
import type { FileRead } from '../model/image.js';

// strata's own tar encoder, not tar-stream: it writes store and
// customisation layers and the docker-archive stream, where the bytes must
// be nixpkgs' exactly (header fields, pax records, member order) and where
// it packs headers and file contents into reused 1 MiB chunks read straight
// from the files (README, "tar-stream and strata's encoder", has the
// measurement). Tars written in sequence without those needs use tar-stream.

export const CHUNK = 1 << 20;
// Below this, a chunk cut short is copied rather than replaced.
const SHORT = 64 << 10;

// Chunks whose reader is done with them (see util/hash-thread.ts), filled
// again instead of leaving a megabyte of garbage per chunk.
const spare: Buffer[] = [];

/**
 * Give back a chunk (or its memory) nothing reads any more. Memory of a
 * chunk's size is kept, also under the shorter last chunk of a layer (a
 * chunk owns its memory alone: allocUnsafe gives sizes beyond Node's pool
 * their own).
 */
export function recycleChunk(chunk: Buffer | ArrayBuffer): void {
  const memory = chunk instanceof ArrayBuffer ? chunk : chunk.byteOffset === 0 ? chunk.buffer : undefined;
  if (memory instanceof ArrayBuffer && memory.byteLength === CHUNK && spare.length < 32) spare.push(Buffer.from(memory));
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
   * listed), a file modified while read stops the layer. With `elsewhere`,
   * the content is a FileRead for the thread writing the tar to read
   * instead, after the chunk holding the header (cut short) and before the
   * one starting with the padding: the same bytes, once read.
   */
  *entry(header: TarHeader, path: string, listed: ListedStat | undefined, elsewhere: boolean): Generator<Buffer | FileRead> {
    const direct = writeHeader(this.buf, this.pos, CHUNK - this.pos, header);
    if (direct > 0) this.advance(direct);
    else this.put(encodeHeader(header));
    if (header.type !== TarType.File || header.size === 0) return yield* this.flush();
    yield* this.flush();
    if (elsewhere && listed) {
      // A chunk handed out moves whole: one holding little is copied instead, and filled again.
      if (this.pos >= SHORT) {
        yield this.buf.subarray(0, this.pos);
        this.buf = newChunk();
      } else if (this.pos > 0) yield Buffer.from(this.buf.subarray(0, this.pos));
      this.pos = 0;
      this.offset += header.size;
      yield { path, size: header.size, listed: { size: listed.size, mtimeMs: listed.mtimeMs, ctimeMs: listed.ctimeMs, ino: listed.ino } };
    } else yield* this.content(path, header.size, listed);
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
      throw readFailure({ path, size, why: 'unreadable', code: (e as NodeJS.ErrnoException).code });
    }
    try {
      let left = size;
      while (left > 0) {
        let n: number;
        try {
          n = readSync(fd, this.buf, this.pos, Math.min(left, CHUNK - this.pos), null);
        } catch (e) {
          throw readFailure({ path, size, why: 'unreadable', code: (e as NodeJS.ErrnoException).code });
        }
        if (n === 0) throw readFailure({ path, size, why: 'shrank' });
        left -= n;
        this.advance(n);
        yield* this.flush();
      }
      if (listed && !sameFile(listed, fstatSync(fd))) throw readFailure({ path, size, why: 'changed' });
    } finally {
      closeSync(fd);
    }
  }

  private advance(n: number): void {
    this.pos += n;
    this.offset += n;
    if (this.pos === CHUNK) {
      this.full.push(this.buf);
      this.buf = newChunk();
      this.pos = 0;
    }
  }
}

/** The one-line error (exit 4) for a file that could not go into a tar as listed, whichever thread read it. */
export function readFailure({ path, size, why, code }: ReadFailure): StrataError {
  const message =
    why === 'unreadable' ? `${path}: cannot read (${code})`
    : why === 'shrank' ? `${path}: file shrank while being read (expected ${size} bytes); is something modifying the store?`
    : `${path}: changed while the image was written; is something modifying the store?`;
  return new StrataError(message, ExitCode.Integrity);
}

function sameFile(a: ListedStat, b: Stats): boolean {
  return a.size === b.size && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs && a.ino === b.ino;
}
