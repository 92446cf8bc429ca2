// strata's own tar reader, for plain tar files read in any order: it
// indexes members where they lie (no copy), and decodes names and pax
// records as Python's tarfile does. Archives read in sequence (compressed,
// or on a pipe) go through tar-stream instead (image/tar-archive.ts).
import { open, type FileHandle } from 'node:fs/promises';
import { StrataError } from '../errors.js';
import { decodeName } from '../util/surrogateescape.js';
import { BLOCK, type TarHeader, type TarType } from './header.js';

/** A member of a tar file on disk, with where its data starts. */
export interface TarMember extends TarHeader {
  offset: number;
  /**
   * The pax records that apply to it, as Python's tarfile keeps them: the
   * global ones, then its own, a repeated key replacing the value in place.
   */
  pax: Map<string, string>;
}

/**
 * Index an uncompressed tar file: every member's header and data offset, so
 * members can be read in any order without unpacking. Understands ustar prefixes, pax records (global
 * and per member) and GNU long names.
 */
export async function indexTar(file: string): Promise<TarMember[]> {
  const fh = await openOrFail(file);
  try {
    const { size } = await fh.stat();
    const members: TarMember[] = [];
    let pos = 0;
    const globals = new Map<string, string>();
    let pax: Map<string, string> | undefined;
    let long: { path?: Buffer; linkpath?: Buffer } = {};
    const block = Buffer.alloc(BLOCK);
    while (pos + BLOCK <= size) {
      await readExactly(fh, block, pos, file);
      if (block.every((b) => b === 0)) break;
      if (!checksumOk(block)) throw new StrataError(`${file}: not a tar archive (bad header checksum at byte ${pos}); expected a docker-archive or an OCI archive, plain or gzip/zstd-compressed`);
      const h = parseHeader(block, file, pos);
      const dataAt = pos + BLOCK;
      if (dataAt + h.size > size) throw new StrataError(`${file}: truncated: member '${h.name}' needs ${h.size} bytes at byte ${dataAt}, the file has ${size}`);
      if (h.type === ('x' as TarType) || h.type === ('L' as TarType) || h.type === ('K' as TarType)) {
        const data = Buffer.alloc(h.size);
        await readExactly(fh, data, dataAt, file);
        if (h.type === ('x' as TarType)) pax = parsePax(data, new Map(globals));
        else long[h.type === ('L' as TarType) ? 'path' : 'linkpath'] = data.subarray(0, data.indexOf(0) < 0 ? data.length : data.indexOf(0));
      } else if (h.type === ('g' as TarType)) {
        const data = Buffer.alloc(h.size);
        await readExactly(fh, data, dataAt, file);
        parsePax(data, globals);
      } else {
        if (long.path) h.name = decodeName(long.path);
        if (long.linkpath) h.linkname = decodeName(long.linkpath);
        const records = pax ?? new Map(globals);
        applyPax(h, records);
        members.push({ ...h, offset: dataAt, pax: records });
        pax = undefined;
        long = {};
      }
      pos = dataAt + Math.ceil(h.size / BLOCK) * BLOCK;
    }
    return members;
  } finally {
    await fh.close();
  }
}

/** A member's data. */
export async function readMember(file: string, m: TarMember): Promise<Buffer> {
  const fh = await openOrFail(file);
  try {
    const data = Buffer.alloc(m.size);
    await readExactly(fh, data, m.offset, file);
    return data;
  } finally {
    await fh.close();
  }
}

async function openOrFail(file: string): Promise<FileHandle> {
  try {
    return await open(file, 'r');
  } catch (e) {
    throw new StrataError(`${file}: cannot open (${(e as NodeJS.ErrnoException).code})`);
  }
}

async function readExactly(fh: FileHandle, buf: Buffer, pos: number, file: string): Promise<void> {
  const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
  if (bytesRead !== buf.length) throw new StrataError(`${file}: truncated at byte ${pos + bytesRead}`);
}

function checksumOk(b: Buffer): boolean {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : b[i]!;
  return parseInt(b.toString('latin1', 148, 156).replace(/[\0 ]/g, ''), 8) === sum;
}

function field(b: Buffer, start: number, len: number): Buffer {
  const f = b.subarray(start, start + len);
  const nul = f.indexOf(0);
  return nul < 0 ? f : f.subarray(0, nul);
}

function num(b: Buffer, start: number, len: number, file: string, pos: number): number {
  if (b[start]! & 0x80) {
    // GNU base-256 for values that do not fit the octal field.
    let v = 0;
    for (let i = start + 1; i < start + len; i++) v = v * 256 + b[i]!;
    return v;
  }
  const text = b.toString('latin1', start, start + len).replace(/[\0 ]+$/g, '').replace(/^ +/, '');
  if (text !== '' && !/^[0-7]+$/.test(text)) throw new StrataError(`${file}: bad number field in the header at byte ${pos}`);
  return text === '' ? 0 : parseInt(text, 8);
}

function parseHeader(b: Buffer, file: string, pos: number): TarHeader {
  const prefix = b.toString('latin1', 257, 263) === 'ustar\0' ? field(b, 345, 155) : Buffer.alloc(0);
  const rawName = field(b, 0, 100);
  const name = decodeName(prefix.length > 0 ? Buffer.concat([prefix, Buffer.from('/'), rawName]) : rawName);
  return {
    name,
    mode: num(b, 100, 8, file, pos),
    uid: num(b, 108, 8, file, pos),
    gid: num(b, 116, 8, file, pos),
    size: num(b, 124, 12, file, pos),
    mtime: num(b, 136, 12, file, pos),
    type: (String.fromCharCode(b[156]!) === '\0' ? '0' : String.fromCharCode(b[156]!)) as TarType,
    linkname: decodeName(field(b, 157, 100)),
    uname: decodeName(field(b, 265, 32)),
    gname: decodeName(field(b, 297, 32)),
    devmajor: num(b, 329, 8, file, pos),
    devminor: num(b, 337, 8, file, pos),
  };
}

/**
 * Add the records of a pax header to `into`, as Python's tarfile reads them:
 * an hdrcharset record first, then each record in turn; values decoded as
 * UTF-8 with undecodable bytes kept (surrogateescape).
 */
function parsePax(data: Buffer, into: Map<string, string>): Map<string, string> {
  const text = data.toString('latin1');
  const charset = /\d+ hdrcharset=([^\n]+)\n/.exec(text);
  if (charset) into.set('hdrcharset', charset[1]!);
  const record = /(\d+) ([^=]+)=/y;
  for (let i = 0; ; ) {
    record.lastIndex = i;
    const m = record.exec(text);
    const len = m ? Number(m[1]) : 0;
    if (len === 0) return into;
    const keyAt = i + m![1]!.length + 1;
    into.set(decodeName(data.subarray(keyAt, keyAt + m![2]!.length)), decodeName(data.subarray(record.lastIndex, i + len - 1)));
    i += len;
  }
}

/** Python's int() and float() of a pax number, 0 when it is not one. */
const paxInt = (v: string): number => (/^\s*[-+]?\d+\s*$/.test(v) ? Number(v) : 0);
const paxFloat = (v: string): number => (/^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$/.test(v) ? Number(v) : 0);

/** The header fields pax records replace (mtime stays fractional, as in Python). */
export function applyPax(h: TarHeader, pax: Map<string, string>): void {
  for (const [key, value] of pax) {
    if (key === 'path') h.name = value.replace(/\/+$/, '');
    else if (key === 'linkpath') h.linkname = value;
    else if (key === 'uname' || key === 'gname') h[key] = value;
    else if (key === 'size' || key === 'uid' || key === 'gid') h[key] = paxInt(value);
    else if (key === 'mtime') h.mtime = paxFloat(value);
  }
}
