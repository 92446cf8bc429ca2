import { type Dirent, type Stats, closeSync, lstatSync, openSync, readSync, readdirSync } from 'node:fs';
import { StrataError } from '../errors.js';
import { type StoreLayer, identity } from '../layer/store-layer.js';
import { fsName } from '../util/surrogateescape.js';
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

/** Where the guard keeps what it found in each store path across runs (the layer digest cache). */
interface FoundCache {
  read(key: string): Promise<unknown>;
  write(key: string, value: unknown): Promise<void>;
}

/** The binaries of one store path: path relative to it ('' for the path itself) and kind. */
type Found = [string, BinaryKind][];

/**
 * The executables and shared libraries under `paths` built for another
 * platform than `target`, in path order. Only regular files with an exec bit
 * or a library's name are opened, and only their first bytes are read. With
 * a cache, what a store path holds is read once: store paths do not change,
 * and the key holds the path's inode and ctime, so one rebuilt in place is read again.
 */
export async function findForeignBinaries(paths: readonly string[], target: TargetPlatform, cache?: FoundCache): Promise<ForeignBinary[]> {
  const head = Buffer.allocUnsafe(HEAD_BYTES);
  const found = await Promise.all(paths.map((root) => binariesOf(root, head, cache)));
  const foreign = found.flatMap((binaries, i) =>
    binaries.filter(([, kind]) => isForeign(kind, target)).map(([rel, kind]) => ({ path: rel === '' ? paths[i]! : `${paths[i]}/${rel}`, kind })),
  );
  return byPath(foreign);
}

const isForeign = (kind: BinaryKind, target: TargetPlatform): boolean =>
  !(kind.architectures.includes(target.architecture) && (kind.os === undefined || kind.os === target.os));

const byPath = (foreign: ForeignBinary[]): ForeignBinary[] => foreign.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));

async function binariesOf(root: string, head: Buffer, cache: FoundCache | undefined): Promise<Found> {
  const id = cache && identity(root);
  if (!cache || id === 'missing') return binariesUnder(root, head);
  const key = JSON.stringify({ guard: 'binaries/1', root, identity: id });
  const hit = await cache.read(key);
  if (isFound(hit)) return hit;
  const found = binariesUnder(root, head);
  await cache.write(key, found);
  return found;
}

function isFound(value: unknown): value is Found {
  return (
    Array.isArray(value) &&
    value.every(
      (e) =>
        Array.isArray(e) && e.length === 2 && typeof e[0] === 'string' &&
        typeof e[1]?.format === 'string' && Array.isArray(e[1].architectures) && e[1].architectures.every((a: unknown) => typeof a === 'string') &&
        (e[1].os === undefined || typeof e[1].os === 'string'),
    )
  );
}

/** Every executable and shared library under one store path, whatever its platform. */
function binariesUnder(root: string, head: Buffer): Found {
  const found: Found = [];
  const check = (path: string) => {
    const kind = readKind(path, head);
    if (kind) found.push([path.slice(root.length + 1), kind]);
  };
  // Not throwing for a missing path: a thrown error costs more than the lstat.
  const stat: Stats | undefined = lstatSync(root, { throwIfNoEntry: false });
  if (!stat) return found;
  if (stat.isFile() && isCandidate(root, () => stat.mode)) check(root);
  if (!stat.isDirectory()) return found;
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
  return found;
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

function readKind(path: string | Buffer, head: Buffer): BinaryKind | undefined {
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
export async function checkPlatform(paths: readonly string[], target: TargetPlatform, cache?: FoundCache): Promise<void> {
  refuseForeign(await findForeignBinaries(paths, target, cache), target);
}

/**
 * checkPlatform over store layers about to be read, each walked once for
 * both: the guard looks at every entry's lstat and opens only the
 * candidates, and each layer keeps its walk for its read while `budget`
 * (members in all, shared by the calls of one write) has room; a layer
 * past it is walked again when read.
 */
export function checkWalkedPlatform(layers: readonly StoreLayer[], target: TargetPlatform, budget: { members: number }): void {
  const head = Buffer.allocUnsafe(HEAD_BYTES);
  const foreign: ForeignBinary[] = [];
  for (const layer of layers) {
    budget.members -= layer.walkAhead(({ path, stat }) => {
      if (!stat.isFile() || !isCandidate(path, () => stat.mode)) return;
      const kind = readKind(fsName(path), head);
      if (kind && isForeign(kind, target)) foreign.push({ path, kind });
    }, budget.members);
  }
  refuseForeign(byPath(foreign), target);
}

function refuseForeign(foreign: ForeignBinary[], target: TargetPlatform): void {
  if (foreign.length === 0) return;
  const named = foreign.map((f) => `${f.path} (${describeKind(f.kind)})`);
  throw new StrataError(
    `the closure holds ${foreign.length} executable(s) or librar(ies) not built for ${target.os}/${target.architecture}: ${firstFew(named)}; ` +
      `build the closure for ${target.os}/${target.architecture}, set --architecture/--os to the closure's platform, or pass ${ALLOW_FOREIGN_FLAG}`,
  );
}
