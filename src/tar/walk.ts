import { type Stats, closeSync, fstatSync, lstatSync, openSync, readSync, readdirSync, readlinkSync } from 'node:fs';
import { ExitCode, StrataError } from '../errors.js';
import { compareCodePoints } from '../util/compare.js';
import { decodeName, encodeName } from '../util/surrogateescape.js';
import { type TarHeader, TarType, encodeHeader, endOfArchive, padding } from './header.js';

/** Ownership and time every entry of a generated layer gets. */
export interface EntryAttributes {
  mtime: number;
  uid: number;
  gid: number;
  uname: string;
  gname: string;
}

export interface WalkedEntry {
  /** Absolute path on disk, in surrogateescape form. */
  path: string;
  stat: Stats;
}

// Layers are read with synchronous calls: a store holds many small files, and
// one thread-pool round trip per lstat/open/read/close cost more than the
// reading itself. Writers that must not block run layers in a worker.

/**
 * `root` and everything under it, in the order Python sorts pathlib paths
 * (component by component, by code point): depth first, children by name.
 * Symlinks are not followed; a root that is a symlink is yielded alone.
 */
export function* walk(root: string): Generator<WalkedEntry> {
  const stat = lstatOrFail(root);
  yield { path: root, stat };
  if (!stat.isDirectory()) return;
  let names: Buffer[];
  try {
    names = readdirSync(encodeName(root), { encoding: 'buffer' });
  } catch (e) {
    throw new StrataError(`${root}: cannot list directory (${(e as NodeJS.ErrnoException).code})`, ExitCode.Integrity);
  }
  const children = names.map(decodeName).sort(compareCodePoints);
  for (const child of children) yield* walk(`${root}/${child}`);
}

function lstatOrFail(path: string): Stats {
  try {
    return lstatSync(encodeName(path));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new StrataError(
      code === 'ENOENT' ? `${path}: no such file; is the store path on this machine (nix-store --realise it)?` : `${path}: cannot stat (${code})`,
      ExitCode.Integrity,
    );
  }
}

/** The tar header for a walked entry, named `name` in the archive. */
export function entryHeader(name: string, entry: WalkedEntry, attrs: EntryAttributes): TarHeader {
  const st = entry.stat;
  const base = { name, mode: st.mode & 0o7777, size: 0, linkname: '', devmajor: 0, devminor: 0, ...attrs };
  if (st.isFile()) return { ...base, type: TarType.File, size: st.size };
  if (st.isDirectory()) return { ...base, type: TarType.Directory };
  if (st.isSymbolicLink()) return { ...base, type: TarType.Symlink, linkname: decodeName(readlinkSync(encodeName(entry.path), { encoding: 'buffer' })) };
  if (st.isFIFO()) return { ...base, type: TarType.Fifo };
  if (st.isCharacterDevice() || st.isBlockDevice()) {
    // Linux dev_t: major in bits 8-19 and 32-43, minor in bits 0-7 and 20-31.
    const rdev = BigInt(st.rdev);
    const major = Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn));
    const minor = Number((rdev & 0xffn) | ((rdev >> 12n) & ~0xffn));
    return { ...base, type: st.isCharacterDevice() ? TarType.CharDevice : TarType.BlockDevice, devmajor: major, devminor: minor };
  }
  throw new StrataError(`${entry.path}: a socket cannot be put in a tar layer; remove it from the store path`);
}

const CHUNK = 1 << 20;

// Chunks whose reader is done with them (see util/hash-thread.ts), filled
// again instead of leaving a megabyte of garbage per chunk.
const spare: Buffer[] = [];

/** Give back a chunk (or its memory) nothing reads any more; only whole chunks are kept. */
export function recycleChunk(chunk: Buffer | ArrayBuffer): void {
  const whole = chunk instanceof ArrayBuffer ? chunk.byteLength === CHUNK : chunk.byteOffset === 0 && chunk.length === CHUNK && chunk.buffer.byteLength === CHUNK;
  if (whole && spare.length < 32) spare.push(chunk instanceof ArrayBuffer ? Buffer.from(chunk) : chunk);
}

const newChunk = (): Buffer => spare.pop() ?? Buffer.allocUnsafe(CHUNK);

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

  *write(bytes: Buffer): Generator<Buffer> {
    let from = 0;
    while (from < bytes.length) {
      const n = bytes.copy(this.buf, this.pos, from);
      from += n;
      yield* this.advance(n);
    }
  }

  /**
   * A member: its header, then for regular files exactly `size` bytes of
   * content and the padding. With `listed` (the file's stat when it was
   * listed), a file modified while read stops the layer.
   */
  *entry(header: TarHeader, path: string, listed?: Stats): Generator<Buffer> {
    yield* this.write(encodeHeader(header));
    if (header.type !== TarType.File || header.size === 0) return;
    yield* this.content(path, header.size, listed);
    yield* this.write(padding(header.size));
  }

  *end(): Generator<Buffer> {
    yield* this.write(endOfArchive(this.offset));
    if (this.pos > 0) yield this.buf.subarray(0, this.pos);
    this.pos = 0;
  }

  private *content(path: string, size: number, listed?: Stats): Generator<Buffer> {
    let fd: number;
    try {
      fd = openSync(encodeName(path), 'r');
    } catch (e) {
      throw new StrataError(`${path}: cannot read (${(e as NodeJS.ErrnoException).code})`, ExitCode.Integrity);
    }
    try {
      let left = size;
      while (left > 0) {
        const n = readSync(fd, this.buf, this.pos, Math.min(left, CHUNK - this.pos), null);
        if (n === 0) throw new StrataError(`${path}: file shrank while being read (expected ${size} bytes); is something modifying the store?`, ExitCode.Integrity);
        left -= n;
        yield* this.advance(n);
      }
      if (listed && !sameFile(listed, fstatSync(fd))) {
        throw new StrataError(`${path}: changed while the image was written; is something modifying the store?`, ExitCode.Integrity);
      }
    } finally {
      closeSync(fd);
    }
  }

  private *advance(n: number): Generator<Buffer> {
    this.pos += n;
    this.offset += n;
    if (this.pos === CHUNK) {
      const full = this.buf;
      this.buf = newChunk();
      this.pos = 0;
      yield full;
    }
  }
}

function sameFile(a: Stats, b: Stats): boolean {
  return a.size === b.size && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs && a.ino === b.ino;
}

/**
 * Remembers what each file looked like on the first read of a layer, so a
 * later read (the streaming pass) that finds a file changed can name it
 * instead of only reporting a wrong layer digest.
 */
export class FileFingerprints {
  private readonly first = new Map<string, string>();
  private pass = 0;

  /** Call at the start of every read of the layer (a file gone missing shows in the digest). */
  begin(): void {
    this.pass++;
  }

  /** What the first read saw, to hand to the copy of the layer another thread streams. */
  export(): [string, string][] {
    return [...this.first];
  }

  /** Take another thread's first read as this layer's own. */
  adopt(first: [string, string][]): void {
    for (const [path, print] of first) this.first.set(path, print);
    this.pass = Math.max(this.pass, 1);
  }

  check(entry: WalkedEntry): void {
    const s = entry.stat;
    const print = `${s.mode}:${s.size}:${s.mtimeMs}:${s.ctimeMs}:${s.ino}`;
    if (this.pass === 1) this.first.set(entry.path, print);
    else if (this.first.get(entry.path) !== print) {
      const what = this.first.has(entry.path) ? 'changed' : 'appeared';
      throw new StrataError(`${entry.path}: ${what} while the image was written; is something modifying the store?`, ExitCode.Integrity);
    }
  }
}
