import { type Stats, closeSync, fstatSync, lstatSync, openSync, readSync, readdirSync, readlinkSync } from 'node:fs';
import { ExitCode, StrataError } from '../errors.js';
import { compareCodePoints } from '../util/compare.js';
import { decodeName, fsName } from '../util/surrogateescape.js';
import { BLOCK, type TarHeader, TarType, encodeHeader, endOfArchive, writeHeader } from './header.js';

/** Ownership and time every entry of a generated layer gets. */
export interface EntryAttributes {
  mtime: number;
  uid: number;
  gid: number;
  uname: string;
  gname: string;
}

interface WalkedEntry {
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
  // An explicit stack: nested generators would pass every entry up through each level.
  const pending = [root];
  for (let path = pending.pop(); path !== undefined; path = pending.pop()) {
    const stat = lstatOrFail(path);
    yield { path, stat };
    if (!stat.isDirectory()) continue;
    let names: Buffer[];
    try {
      names = readdirSync(fsName(path), { encoding: 'buffer' });
    } catch (e) {
      throw new StrataError(`${path}: cannot list directory (${(e as NodeJS.ErrnoException).code})`, ExitCode.Integrity);
    }
    const children = names.map(decodeName).sort(compareCodePoints);
    for (let i = children.length - 1; i >= 0; i--) pending.push(`${path}/${children[i]}`);
  }
}

function lstatOrFail(path: string): Stats {
  try {
    return lstatSync(fsName(path));
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
  let type: TarType;
  let size = 0;
  let linkname = '';
  let devmajor = 0;
  let devminor = 0;
  if (st.isFile()) {
    type = TarType.File;
    size = st.size;
  } else if (st.isDirectory()) type = TarType.Directory;
  else if (st.isSymbolicLink()) {
    type = TarType.Symlink;
    linkname = decodeName(readlinkSync(fsName(entry.path), { encoding: 'buffer' }));
  } else if (st.isFIFO()) type = TarType.Fifo;
  else if (st.isCharacterDevice() || st.isBlockDevice()) {
    type = st.isCharacterDevice() ? TarType.CharDevice : TarType.BlockDevice;
    // Linux dev_t: major in bits 8-19 and 32-43, minor in bits 0-7 and 20-31.
    const rdev = BigInt(st.rdev);
    devmajor = Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn));
    devminor = Number((rdev & 0xffn) | ((rdev >> 12n) & ~0xffn));
  } else throw new StrataError(`${entry.path}: a socket cannot be put in a tar layer; remove it from the store path`);
  // One literal, not spreads: a layer makes one of these per file.
  const { mtime, uid, gid, uname, gname } = attrs;
  return { name, type, mode: st.mode & 0o7777, uid, gid, size, mtime, linkname, uname, gname, devmajor, devminor };
}

const CHUNK = 1 << 20;

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
  *entry(header: TarHeader, path: string, listed?: Stats): Generator<Buffer> {
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

  private *content(path: string, size: number, listed?: Stats): Generator<Buffer> {
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
      this.full.push(this.buf);
      this.buf = newChunk();
      this.pos = 0;
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

  /** What the first read saw, to hand to the copy of the layer another thread streams; nothing before a first read. */
  export(): [string, string][] | undefined {
    return this.pass === 0 ? undefined : [...this.first];
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
