import { type Dirent, type Stats, closeSync, lstatSync, openSync, readSync, readdirSync } from 'node:fs';
import { StrataError } from '../errors.js';
import { firstFew } from '../util/text.js';
import { type BinaryKind, HEAD_BYTES, binaryKind } from './binary.js';

/** The platform an image says it runs on (GOARCH and GOOS names). */
interface TargetPlatform {
  architecture: string;
  os: string;
}

/** A binary of the closure built for another platform. */
interface ForeignBinary {
  path: string;
  kind: BinaryKind;
}

/** The flag that lets an image hold binaries of other platforms. */
const ALLOW_FOREIGN_FLAG = '--allow-foreign-binaries';

// Shared libraries need no exec bit (Debian's and many others have none).
const LIBRARY_NAME = /\.(so(\.\d[^/]*)?|dylib|dll|exe)$/;

/**
 * The executables and shared libraries under `paths` built for another
 * platform than `target`, in path order. Only regular files with an exec bit
 * or a library's name are opened, and only their first bytes are read.
 */
export function findForeignBinaries(paths: readonly string[], target: TargetPlatform): ForeignBinary[] {
  const foreign: ForeignBinary[] = [];
  const head = Buffer.allocUnsafe(HEAD_BYTES);
  const check = (path: string) => {
    const kind = readKind(path, head);
    if (kind && !(kind.architectures.includes(target.architecture) && (kind.os === undefined || kind.os === target.os))) foreign.push({ path, kind });
  };
  for (const root of paths) {
    // Not throwing for a missing path: a thrown error costs more than the lstat.
    const stat: Stats | undefined = lstatSync(root, { throwIfNoEntry: false });
    if (!stat) continue;
    if (stat.isFile() && isCandidate(root, () => stat.mode)) check(root);
    if (!stat.isDirectory()) continue;
    // Not the layer writer's sorted walk: the guard lstats regular files only
    // (their type is in the directory entry), which halves its system time.
    const dirs = [root];
    for (let dir = dirs.pop(); dir !== undefined; dir = dirs.pop()) {
      for (const entry of listing(dir)) {
        const path = `${dir}/${entry.name}`;
        if (entry.isDirectory()) dirs.push(path);
        else if (entry.isFile() && isCandidate(entry.name, () => modeOf(path))) check(path);
      }
    }
  }
  return foreign.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** A library's name, or else (asked only then) an exec bit. */
function isCandidate(name: string, mode: () => number): boolean {
  return LIBRARY_NAME.test(name) || (mode() & 0o111) !== 0;
}

// What cannot be listed, stat'ed or read (a path missing from this machine, a
// name that is not UTF-8) is left for the layer writer to report, with its own message.

function listing(dir: string): Dirent[] {
  try {
    return readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
}

function modeOf(path: string): number {
  try {
    return lstatSync(path).mode;
  } catch {
    return 0;
  }
}

function readKind(path: string, head: Buffer): BinaryKind | undefined {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return undefined;
  }
  try {
    const n = readSync(fd, head, 0, HEAD_BYTES, 0);
    return binaryKind(head.subarray(0, n), (offset, length) => {
      const more = Buffer.alloc(length);
      return more.subarray(0, readSync(fd, more, 0, length, offset));
    });
  } finally {
    closeSync(fd);
  }
}

/** `ELF linux/arm64`, `Mach-O darwin/amd64+arm64`, `ELF arm64` (no OS named). */
function describeKind(kind: BinaryKind): string {
  return `${kind.format} ${kind.os === undefined ? '' : kind.os + '/'}${kind.architectures.join('+')}`;
}

/**
 * Refuse (exit 2) a closure holding executables or shared libraries of
 * another platform than the image's, naming the first few.
 */
export function checkPlatform(paths: readonly string[], target: TargetPlatform): void {
  const foreign = findForeignBinaries(paths, target);
  if (foreign.length === 0) return;
  const named = foreign.map((f) => `${f.path} (${describeKind(f.kind)})`);
  throw new StrataError(
    `the closure holds ${foreign.length} executable(s) or librar(ies) not built for ${target.os}/${target.architecture}: ${firstFew(named)}; ` +
      `build the closure for ${target.os}/${target.architecture}, set --architecture/--os to the closure's platform, or pass ${ALLOW_FOREIGN_FLAG}`,
  );
}
