import { type TarHeader, TarType, endOfArchiveLength, headerLength, padLength } from './header.js';
import { ChunkedTar } from './chunked-tar.js';
import type { FileFingerprints, ListedStat } from './tree-walk.js';
import type { FileRead, WalkedBytes } from '../model/image.js';

/** One member of a generated layer: its header, and the file it was made from (none for made-up directories). */
export interface Member {
  header: TarHeader;
  entry?: { path: string; stat: ListedStat };
}

/**
 * The layer's tar: each member's header, then a regular file's content read
 * from its entry. `fingerprints` sees every entry, so a file that differs
 * from an earlier pass (a size walk, a first read) stops the layer; without
 * it, a file whose fstat after the read differs from its entry's stat does.
 */
export function packMembers(members: Iterable<Member>, fingerprints?: FileFingerprints): Generator<Buffer> {
  // With no file left to read elsewhere, nothing but chunks.
  return pack(members, Infinity, fingerprints) as Generator<Buffer>;
}

/** As packMembers, with the content of each file of at least `from` bytes a FileRead (see ChunkedTar.entry). */
function* pack(members: Iterable<Member>, from: number, fingerprints?: FileFingerprints): Generator<Buffer | FileRead> {
  fingerprints?.begin();
  const tar = new ChunkedTar();
  for (const { header, entry } of members) {
    if (entry) fingerprints?.check(entry);
    yield* tar.entry(header, entry?.path ?? header.name, entry?.stat, header.size >= from);
  }
  yield* tar.end();
}

/**
 * The byte length of the tar packMembers writes, from the headers alone (the
 * walk's lstat: no file is read). Given `fingerprints`, this walk counts as a
 * pass of the layer, so a later read finds files changed since.
 */
export function tarSize(members: Iterable<Member>, fingerprints?: FileFingerprints): number {
  fingerprints?.begin();
  let offset = 0;
  for (const { header, entry } of members) {
    if (entry) fingerprints?.check(entry);
    offset += headerLength(header);
    if (header.type === TarType.File) offset += header.size + padLength(header.size);
  }
  return offset + endOfArchiveLength(offset);
}

/**
 * A layer walked once: its tar length, and its bytes packed from that walk
 * (no second walk): a file whose size, times or inode differ from the
 * walk's when read stops it. `files`: regular files with content, each
 * opened and read.
 */
export type WalkedTar = WalkedBytes;

/** Walk `members` once, keeping them: for writers that need the length before the bytes. */
export function walkedTar(members: Iterable<Member>): WalkedTar {
  const list: Member[] = Array.isArray(members) ? members : [...members];
  const sizes = (): number[] => list.flatMap(({ header }) => (header.type === TarType.File && header.size > 0 ? [header.size] : []));
  return { size: tarSize(list), files: sizes().length, open: () => packMembers(list), sizes, parts: (from) => pack(list, from) };
}
