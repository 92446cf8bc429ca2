import { asciiReplace, encodeName, hasLoneSurrogate, isAscii } from '../util/surrogateescape.js';

/**
 * Tar headers byte-for-byte as Python's tarfile writes them in its default
 * PAX format (what nixpkgs' stream_layered_image.py emits): a ustar header,
 * preceded by a pax extended header when a name is not ASCII or too long, or
 * a number does not fit its octal field. Layer digests depend on every byte,
 * so this must not drift.
 */

export const BLOCK = 512;
const RECORD = 20 * BLOCK;

export const TarType = {
  File: '0',
  HardLink: '1',
  Symlink: '2',
  CharDevice: '3',
  BlockDevice: '4',
  Directory: '5',
  Fifo: '6',
} as const;
export type TarType = (typeof TarType)[keyof typeof TarType];

export interface TarHeader {
  /** In Python's surrogateescape form (see util/surrogateescape.ts). */
  name: string;
  type: TarType;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  linkname: string;
  uname: string;
  gname: string;
  devmajor: number;
  devminor: number;
  /**
   * Pax records a member read from an archive carries (TarMember.pax). As in
   * Python, they are written first and in their order, and win over the
   * records the fields would need.
   */
  pax?: ReadonlyMap<string, string>;
}

export function tarHeader(fields: Partial<TarHeader> & { name: string }): TarHeader {
  return { type: TarType.File, mode: 0o644, uid: 0, gid: 0, size: 0, mtime: 0, linkname: '', uname: '', gname: '', devmajor: 0, devminor: 0, ...fields };
}

/** The header bytes of one member (pax header included when needed). */
export function encodeHeader(h: TarHeader): Buffer {
  const direct = Buffer.allocUnsafe(4 * BLOCK);
  const n = writeHeader(direct, 0, direct.length, h);
  if (n > 0) return direct.subarray(0, n);
  const name = directoryName(h);
  const info = { ...h, name };
  const pax = new Map(h.pax);
  for (const [field, key, limit] of [['name', 'path', 100], ['linkname', 'linkpath', 100], ['uname', 'uname', 32], ['gname', 'gname', 32]] as const) {
    const value = info[field];
    if (!pax.has(key) && (!isAscii(value) || value.length > limit)) pax.set(key, value);
  }
  for (const [field, digits] of [['uid', 8], ['gid', 8], ['size', 12], ['mtime', 12]] as const) {
    // A fractional mtime (from a pax record) goes in rounded, as by Python's round().
    const value = roundHalfEven(info[field]);
    if (value >= 0 && value < 8 ** (digits - 1)) info[field] = value;
    else {
      if (!pax.has(field)) pax.set(field, String(info[field]));
      info[field] = 0;
    }
  }
  const ustar = ustarBlock(info);
  return pax.size === 0 ? ustar : Buffer.concat([paxHeader([...pax]), ustar]);
}

/**
 * The header of a member in the common case, written straight into `b` at
 * `at` (a layer has one per file: no allocation): a ustar block, after a pax
 * header when an ASCII name or link target is too long for its field. The
 * bytes written, or 0 (nothing written) when that needs more than `room` or
 * the member needs the general encoder (non-ASCII names, numbers too big for
 * their fields, pax records of its own).
 */
export function writeHeader(b: Buffer, at: number, room: number, h: TarHeader): number {
  const plain = plainHeader(h);
  if (plain === undefined) return 0;
  const { name, records } = plain;
  const data = paxDataLength(records);
  if (data + BLOCK > room) return 0;
  if (data > 0) {
    writeUstar(b, at, PAX_HEADER, '././@PaxHeader', '', records.length);
    b.write(records, at + BLOCK, 'latin1');
    b.fill(0, at + BLOCK + records.length, at + data);
  }
  writeUstar(b, at + data, h, name, h.linkname, h.size);
  return data + BLOCK;
}

/** The name and pax records of a member writeHeader writes (see there); undefined for the general encoder. */
function plainHeader(h: TarHeader): { name: string; records: string } | undefined {
  const name = directoryName(h);
  if (h.pax !== undefined && h.pax.size > 0) return undefined;
  if (!isAscii(name) || !isAscii(h.linkname) || !fitsAscii(h.uname, 32) || !fitsAscii(h.gname, 32)) return undefined;
  if (!fitsOctal(h.uid, 8) || !fitsOctal(h.gid, 8) || !fitsOctal(h.size, 12) || !fitsOctal(h.mtime, 12)) return undefined;
  if ((h.type === TarType.CharDevice || h.type === TarType.BlockDevice) && (!fitsOctal(h.devmajor, 8) || !fitsOctal(h.devminor, 8))) return undefined;
  let records = '';
  if (name.length > 100) records += paxRecord('path', name);
  if (h.linkname.length > 100) records += paxRecord('linkpath', h.linkname);
  return { name, records };
}

/** Bytes of the pax header (block and records) that carries `records`: none for none. */
const paxDataLength = (records: string): number => (records.length === 0 ? 0 : BLOCK + records.length + padLength(records.length));

const PAX_HEADER = tarHeader({ name: '././@PaxHeader', type: 'x' as TarType, mode: 0 });

/**
 * One ustar block of ASCII fields whose numbers fit (names cut to their
 * fields, as Python does), with its checksum: the sum of the block's bytes,
 * the checksum field counted as spaces. Fields are written byte by byte and
 * summed as they go: Buffer's write and fill cost a call into Node each,
 * several per member, more than these loops over a path's length.
 */
function writeUstar(b: Buffer, at: number, h: TarHeader, name: string, linkname: string, size: number): void {
  fillBytes.call(b, 0, at, at + BLOCK);
  let sum = 8 * 0x20;
  sum += putAscii(b, at, name, 100);
  sum += octalDigits(b, at + 100, 8, h.mode & 0o7777);
  sum += octalDigits(b, at + 108, 8, h.uid);
  sum += octalDigits(b, at + 116, 8, h.gid);
  sum += octalDigits(b, at + 124, 12, size);
  sum += octalDigits(b, at + 136, 12, h.mtime);
  sum += putAscii(b, at + 156, h.type, 1);
  sum += putAscii(b, at + 157, linkname, 100);
  sum += putAscii(b, at + 257, 'ustar\x0000', 8);
  sum += putAscii(b, at + 265, h.uname, 32);
  sum += putAscii(b, at + 297, h.gname, 32);
  if (h.type === TarType.CharDevice || h.type === TarType.BlockDevice) {
    sum += octalDigits(b, at + 329, 8, h.devmajor);
    sum += octalDigits(b, at + 337, 8, h.devminor);
  }
  // Six digits and a NUL; the field's last byte stays a space, as Python leaves it.
  octalDigits(b, at + 148, 7, sum);
  b[at + 155] = 0x20;
}

// The typed array's own fill, without Buffer.fill's checks (a header's block is always in range).
const fillBytes = Uint8Array.prototype.fill;

/** The first `limit` characters of ASCII `s` at `at`; returns their bytes' sum. */
function putAscii(b: Buffer, at: number, s: string, limit: number): number {
  let sum = 0;
  for (let i = 0, n = Math.min(s.length, limit); i < n; i++) {
    const c = s.charCodeAt(i);
    b[at + i] = c;
    sum += c;
  }
  return sum;
}

/** A pax record of ASCII text: its length in decimal (counting itself), the key, the value. */
function paxRecord(key: string, value: string): string {
  const body = key.length + value.length + 3;
  let len = body;
  while (String(len).length + body !== len) len = String(len).length + body;
  return `${len} ${key}=${value}\n`;
}

/** NUL bytes completing a member's data of `size` bytes to whole blocks. */
export const padLength = (size: number): number => (BLOCK - (size % BLOCK)) % BLOCK;

function directoryName(h: TarHeader): string {
  return h.type === TarType.Directory && !h.name.endsWith('/') ? h.name + '/' : h.name;
}

const fitsAscii = (s: string, limit: number): boolean => s.length <= limit && isAscii(s);
const fitsOctal = (v: number, width: number): boolean => Number.isInteger(v) && v >= 0 && v < 8 ** (width - 1);

/** `value` as width-1 octal digits and a NUL (integers below 8**(width-1)); returns the digits' bytes' sum. */
function octalDigits(b: Buffer, at: number, width: number, value: number): number {
  b[at + width - 1] = 0;
  let sum = 0;
  for (let i = at + width - 2; i >= at; i--) {
    const digit = 0x30 + (value % 8);
    b[i] = digit;
    sum += digit;
    value = Math.floor(value / 8);
  }
  return sum;
}

export function padding(size: number): Buffer {
  return Buffer.alloc(padLength(size));
}

/** The end of an archive of `offset` bytes: two zero blocks, then zeros up to a whole record. */
export function endOfArchive(offset: number): Buffer {
  return Buffer.alloc(endOfArchiveLength(offset));
}

export function endOfArchiveLength(offset: number): number {
  const rest = (offset + 2 * BLOCK) % RECORD;
  return 2 * BLOCK + (rest === 0 ? 0 : RECORD - rest);
}

/** Bytes the header of `h` takes (its pax header included), as the writers encode it; counted, not written, in the common case. */
export function headerLength(h: TarHeader): number {
  const plain = plainHeader(h);
  return plain === undefined ? encodeHeader(h).length : paxDataLength(plain.records) + BLOCK;
}

function paxHeader(records: [string, string][]): Buffer {
  const binary = records.some(([, v]) => hasLoneSurrogate(v));
  const parts: Buffer[] = binary ? [Buffer.from('21 hdrcharset=BINARY\n')] : [];
  for (const [key, value] of records) {
    const body = Buffer.concat([Buffer.from(` ${key}=`), encodeName(value), Buffer.from('\n')]);
    // The record starts with its own length in decimal, which counts itself.
    let len = body.length;
    while (String(len).length + body.length !== len) len = String(len).length + body.length;
    parts.push(Buffer.from(String(len)), body);
  }
  const data = Buffer.concat(parts);
  const header = ustarBlock(tarHeader({ name: '././@PaxHeader', type: 'x' as TarType, mode: 0, size: data.length }));
  return Buffer.concat([header, data, padding(data.length)]);
}

function ustarBlock(h: TarHeader): Buffer {
  const b = Buffer.allocUnsafe(BLOCK);
  const ascii = { ...h, uname: asciiReplace(h.uname), gname: asciiReplace(h.gname) };
  writeUstar(b, 0, ascii, asciiReplace(h.name), asciiReplace(h.linkname), h.size);
  return b;
}

function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}
