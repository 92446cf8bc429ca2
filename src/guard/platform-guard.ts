import { closeSync, openSync, readSync } from 'node:fs';
import { StrataError } from '../errors.js';
import { walk } from '../tar/walk.js';
import { fsName } from '../util/surrogateescape.js';
import { firstFew } from '../util/text.js';
import { type BinaryKind, HEAD_BYTES, binaryKind } from './binary.js';

/** The platform an image says it runs on (GOARCH and GOOS names). */
export interface TargetPlatform {
  architecture: string;
  os: string;
}

/** A binary of the closure built for another platform. */
export interface ForeignBinary {
  path: string;
  kind: BinaryKind;
}

/** The flag that lets an image hold binaries of other platforms. */
export const ALLOW_FOREIGN_FLAG = '--allow-foreign-binaries';

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
  for (const root of paths) {
    for (const { path, stat } of walk(root)) {
      if (!stat.isFile() || ((stat.mode & 0o111) === 0 && !LIBRARY_NAME.test(path))) continue;
      const kind = readKind(path, head);
      if (kind && !(kind.architectures.includes(target.architecture) && (kind.os === undefined || kind.os === target.os))) foreign.push({ path, kind });
    }
  }
  return foreign;
}

function readKind(path: string, head: Buffer): BinaryKind | undefined {
  let fd: number;
  try {
    fd = openSync(fsName(path), 'r');
  } catch {
    // An unreadable file is for the layer writer to report, with its own message.
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
export function describeKind(kind: BinaryKind): string {
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
