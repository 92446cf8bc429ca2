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
  const name = h.type === TarType.Directory && !h.name.endsWith('/') ? h.name + '/' : h.name;
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

/** NUL bytes completing a member's data of `size` bytes to whole blocks. */
export function padding(size: number): Buffer {
  const rest = size % BLOCK;
  return Buffer.alloc(rest === 0 ? 0 : BLOCK - rest);
}

/** The end of an archive of `offset` bytes: two zero blocks, then zeros up to a whole record. */
export function endOfArchive(offset: number): Buffer {
  const end = offset + 2 * BLOCK;
  const rest = end % RECORD;
  return Buffer.alloc(2 * BLOCK + (rest === 0 ? 0 : RECORD - rest));
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
  const b = Buffer.alloc(BLOCK);
  asciiReplace(h.name).copy(b, 0, 0, 100);
  octal(b, 100, 8, h.mode & 0o7777);
  octal(b, 108, 8, h.uid);
  octal(b, 116, 8, h.gid);
  octal(b, 124, 12, h.size);
  octal(b, 136, 12, h.mtime);
  b.write('        ', 148, 'latin1');
  b.write(h.type, 156, 'latin1');
  asciiReplace(h.linkname).copy(b, 157, 0, 100);
  b.write('ustar\x0000', 257, 'latin1');
  asciiReplace(h.uname).copy(b, 265, 0, 32);
  asciiReplace(h.gname).copy(b, 297, 0, 32);
  if (h.type === TarType.CharDevice || h.type === TarType.BlockDevice) {
    octal(b, 329, 8, h.devmajor);
    octal(b, 337, 8, h.devminor);
  }
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += b[i]!;
  b.write(sum.toString(8).padStart(6, '0') + '\0', 148, 'latin1');
  return b;
}

function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

function octal(b: Buffer, offset: number, width: number, value: number): void {
  b.write(value.toString(8).padStart(width - 1, '0') + '\0', offset, 'latin1');
}
