import { type Stats, constants, lstatSync, readdirSync, readlinkSync } from 'node:fs';
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

// Read when the header is made, which for a kept walk is when its layer is read:
// a link replaced since by another kind of file stops the layer there.
function linkTarget(path: string): string {
  try {
    return decodeName(readlinkSync(fsName(path), { encoding: 'buffer' }));
  } catch (e) {
    throw new StrataError(`${path}: changed while the image was written (${(e as NodeJS.ErrnoException).code}); is something modifying the store?`, ExitCode.Integrity);
  }
}

/** What a tar header is made from: a walk's lstat, or the fields of it a kept walk holds. */
export type EntryStat = ListedStat & Pick<Stats, 'rdev'>;

const { S_IFMT, S_IFREG, S_IFDIR, S_IFLNK, S_IFIFO, S_IFCHR, S_IFBLK } = constants;

/** The tar header for a walked entry, named `name` in the archive. */
export function entryHeader(name: string, entry: { path: string; stat: EntryStat }, attrs: EntryAttributes): TarHeader {
  const st = entry.stat;
  let type: TarType;
  let size = 0;
  let linkname = '';
  let devmajor = 0;
  let devminor = 0;
  // The type from the mode's bits: a kept walk holds numbers, not Stats.
  const kind = st.mode & S_IFMT;
  if (kind === S_IFREG) {
    type = TarType.File;
    size = st.size;
  } else if (kind === S_IFDIR) type = TarType.Directory;
  else if (kind === S_IFLNK) {
    type = TarType.Symlink;
    linkname = linkTarget(entry.path);
  } else if (kind === S_IFIFO) type = TarType.Fifo;
  else if (kind === S_IFCHR || kind === S_IFBLK) {
    type = kind === S_IFCHR ? TarType.CharDevice : TarType.BlockDevice;
    // Linux dev_t: major in bits 8-19 and 32-43, minor in bits 0-7 and 20-31.
    const rdev = BigInt(st.rdev);
    devmajor = Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn));
    devminor = Number((rdev & 0xffn) | ((rdev >> 12n) & ~0xffn));
  } else throw new StrataError(`${entry.path}: a socket cannot be put in a tar layer; remove it from the store path`);
  // One literal, not spreads: a layer makes one of these per file.
  const { mtime, uid, gid, uname, gname } = attrs;
  return { name, type, mode: st.mode & 0o7777, uid, gid, size, mtime, linkname, uname, gname, devmajor, devminor };
}

// Numbers a kept entry holds, in this order.
const KEPT_FIELDS = 6;

/**
 * Walked entries kept for a later read, in columns: a path and six numbers
 * each, no object per entry. A walk ahead keeps thousands of entries alive
 * until their layer is read, and objects that live that long are what the
 * garbage collector spends its time copying.
 */
export class KeptEntries {
  private readonly paths: string[] = [];
  private numbers = new Float64Array(KEPT_FIELDS * 256);

  get length(): number {
    return this.paths.length;
  }

  add({ path, stat }: WalkedEntry): void {
    const at = this.paths.length * KEPT_FIELDS;
    if (at === this.numbers.length) {
      const more = new Float64Array(this.numbers.length * 2);
      more.set(this.numbers);
      this.numbers = more;
    }
    const n = this.numbers;
    n[at] = stat.mode;
    n[at + 1] = stat.size;
    n[at + 2] = stat.mtimeMs;
    n[at + 3] = stat.ctimeMs;
    n[at + 4] = stat.ino;
    n[at + 5] = stat.rdev;
    this.paths.push(path);
  }

  /** The entries in the order added, each a fresh object (short-lived: made as the layer is read). */
  *entries(): Generator<{ path: string; stat: EntryStat }> {
    const n = this.numbers;
    for (let i = 0, at = 0; i < this.paths.length; i++, at += KEPT_FIELDS) {
      yield { path: this.paths[i]!, stat: { mode: n[at]!, size: n[at + 1]!, mtimeMs: n[at + 2]!, ctimeMs: n[at + 3]!, ino: n[at + 4]!, rdev: n[at + 5]! } };
    }
  }
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
