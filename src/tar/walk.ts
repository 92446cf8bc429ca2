import { lstat, readdir, readlink, open } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { ExitCode, StrataError } from '../errors.js';
import { compareCodePoints } from '../util/compare.js';
import { decodeName, encodeName } from '../util/surrogateescape.js';
import { type TarHeader, TarType, encodeHeader, padding } from './header.js';

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

/**
 * `root` and everything under it, in the order Python sorts pathlib paths
 * (component by component, by code point): depth first, children by name.
 * Symlinks are not followed; a root that is a symlink is yielded alone.
 */
export async function* walk(root: string): AsyncGenerator<WalkedEntry> {
  const stat = await lstatOrFail(root);
  yield { path: root, stat };
  if (!stat.isDirectory()) return;
  let names: Buffer[];
  try {
    names = await readdir(encodeName(root), { encoding: 'buffer' });
  } catch (e) {
    throw new StrataError(`${root}: cannot list directory (${(e as NodeJS.ErrnoException).code})`, ExitCode.Integrity);
  }
  const children = names.map(decodeName).sort(compareCodePoints);
  for (const child of children) yield* walk(`${root}/${child}`);
}

async function lstatOrFail(path: string): Promise<Stats> {
  try {
    return await lstat(encodeName(path));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new StrataError(
      code === 'ENOENT' ? `${path}: no such file; is the store path on this machine (nix-store --realise it)?` : `${path}: cannot stat (${code})`,
      ExitCode.Integrity,
    );
  }
}

/** The tar header for a walked entry, named `name` in the archive. */
export async function entryHeader(name: string, entry: WalkedEntry, attrs: EntryAttributes): Promise<TarHeader> {
  const st = entry.stat;
  const base = { name, mode: st.mode & 0o7777, size: 0, linkname: '', devmajor: 0, devminor: 0, ...attrs };
  if (st.isFile()) return { ...base, type: TarType.File, size: st.size };
  if (st.isDirectory()) return { ...base, type: TarType.Directory };
  if (st.isSymbolicLink()) return { ...base, type: TarType.Symlink, linkname: decodeName(await readlink(encodeName(entry.path), { encoding: 'buffer' })) };
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

/**
 * A regular file's bytes, exactly `size` of them: a file that is shorter now
 * than when it was listed stops the layer, so no archive holds a lie.
 */
export async function* fileContent(path: string, size: number): AsyncGenerator<Buffer> {
  let fh;
  try {
    fh = await open(encodeName(path), 'r');
  } catch (e) {
    throw new StrataError(`${path}: cannot read (${(e as NodeJS.ErrnoException).code})`, ExitCode.Integrity);
  }
  try {
    let left = size;
    while (left > 0) {
      const buf = Buffer.allocUnsafe(Math.min(left, CHUNK));
      let filled = 0;
      while (filled < buf.length) {
        const { bytesRead } = await fh.read(buf, filled, buf.length - filled, null);
        if (bytesRead === 0) throw new StrataError(`${path}: file shrank while being read (expected ${size} bytes); is something modifying the store?`, ExitCode.Integrity);
        filled += bytesRead;
      }
      left -= buf.length;
      yield buf;
    }
  } finally {
    await fh.close();
  }
}

/** Header, content and padding of one walked entry. */
export async function* entryBytes(header: TarHeader, path: string): AsyncGenerator<Buffer> {
  yield encodeHeader(header);
  if (header.type === TarType.File && header.size > 0) {
    yield* fileContent(path, header.size);
    yield padding(header.size);
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
