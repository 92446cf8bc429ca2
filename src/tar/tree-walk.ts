import { type Stats, lstatSync, readdirSync, readlinkSync } from 'node:fs';
import { ExitCode, StrataError } from '../errors.js';
import { compareCodePoints } from '../util/compare.js';
import { decodeName, fsName, hasLoneSurrogate } from '../util/surrogateescape.js';
import { type TarHeader, TarType } from './header.js';

/** Ownership and time every entry of a generated layer gets. */
export interface EntryAttributes {
  mtime: number;
  uid: number;
  gid: number;
  uname: string;
  gname: string;
}

/** What a file is checked against when read: a walk's lstat, or only these fields of it. */
export type ListedStat = Pick<Stats, 'mode' | 'size' | 'mtimeMs' | 'ctimeMs' | 'ino'>;

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
  // Paths whose names are all UTF-8 (nearly all) go to fs calls as they are;
  // once a name that is not turns up, every path is converted.
  let escaped = hasLoneSurrogate(root);
  // An explicit stack: nested generators would pass every entry up through each level.
  const pending = [root];
  for (let path = pending.pop(); path !== undefined; path = pending.pop()) {
    const stat = lstatOrFail(path, escaped);
    yield { path, stat };
    if (!stat.isDirectory()) continue;
    const { children, bytes } = childNames(path, escaped);
    if (bytes && !escaped) escaped = children.some(hasLoneSurrogate);
    for (let i = children.length - 1; i >= 0; i--) pending.push(`${path}/${children[i]}`);
  }
}

/** A directory's names in code point order, as decodeName spells them, and whether they were listed as bytes. */
function childNames(path: string, escaped: boolean): { children: string[]; bytes: boolean } {
  try {
    // Names as strings: no buffer per name. A name that is not UTF-8 decodes with U+FFFD in it; that
    // directory is listed again as bytes (which also keeps a name really holding U+FFFD as it is).
    const names = readdirSync(escaped ? fsName(path) : path);
    const bytes = names.some((name) => name.includes('\ufffd'));
    return { children: (bytes ? readdirSync(fsName(path), { encoding: 'buffer' }).map(decodeName) : names).sort(compareCodePoints), bytes };
  } catch (e) {
    throw new StrataError(`${path}: cannot list directory (${(e as NodeJS.ErrnoException).code})`, ExitCode.Integrity);
  }
}

function lstatOrFail(path: string, escaped: boolean): Stats {
  try {
    return lstatSync(escaped ? fsName(path) : path);
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

  /** Whether the layer has been read (here, or by another thread whose read was adopted). */
  read(): boolean {
    return this.pass > 0;
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

  check(entry: { path: string; stat: ListedStat }): void {
    const s = entry.stat;
    const print = `${s.mode}:${s.size}:${s.mtimeMs}:${s.ctimeMs}:${s.ino}`;
    if (this.pass === 1) this.first.set(entry.path, print);
    else if (this.first.get(entry.path) !== print) {
      const what = this.first.has(entry.path) ? 'changed' : 'appeared';
      throw new StrataError(`${entry.path}: ${what} while the image was written; is something modifying the store?`, ExitCode.Integrity);
    }
  }
}
