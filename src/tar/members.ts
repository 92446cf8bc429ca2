import { type TarHeader, TarType, endOfArchiveLength, headerLength, padLength } from './header.js';
import { ChunkedTar } from './chunked-tar.js';
import type { FileFingerprints, ListedStat } from './tree-walk.js';

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
export function* packMembers(members: Iterable<Member>, fingerprints?: FileFingerprints): Generator<Buffer> {
  fingerprints?.begin();
  const tar = new ChunkedTar();
  for (const { header, entry } of members) {
    if (entry) fingerprints?.check(entry);
    yield* tar.entry(header, entry?.path ?? header.name, entry?.stat);
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

/** A layer walked once: its tar length, and its bytes packed from that walk. */
export interface WalkedTar {
  size: number;
  /** Regular files with content: each is opened and read. */
  files: number;
  /**
   * The tar, from the walk's headers and stats (no second walk): a file
   * whose size, times or inode differ from the walk's when read stops it.
   */
  open(): Iterable<Buffer> | AsyncIterable<Buffer>;
}

/** Walk `members` once, keeping them: for writers that need the length before the bytes. */
export function walkedTar(members: Iterable<Member>): WalkedTar {
  const list: Member[] = Array.isArray(members) ? members : [...members];
  let files = 0;
  for (const { header } of list) if (header.type === TarType.File && header.size > 0) files++;
  return { size: tarSize(list), files, open: () => packMembers(list) };
}
