import { open, type FileHandle } from 'node:fs/promises';
import { StrataError } from '../errors.js';
import { decodeName } from '../util/surrogateescape.js';
import { BLOCK, type TarHeader, type TarType } from './header.js';

/** A member of a tar file on disk, with where its data starts. */
export interface TarMember extends TarHeader {
  offset: number;
}

/**
 * Index an uncompressed tar file: every member's header and data offset, so
 * members can be read in any order without unpacking (tar-stream reads
 * strictly in sequence). Understands ustar prefixes, pax path/linkpath/size
 * records and GNU long names.
 */
export async function indexTar(file: string): Promise<TarMember[]> {
  const fh = await openOrFail(file);
  try {
    const { size } = await fh.stat();
    const members: TarMember[] = [];
    let pos = 0;
    let pending: Record<string, Buffer> = {};
    const block = Buffer.alloc(BLOCK);
    while (pos + BLOCK <= size) {
      await readExactly(fh, block, pos, file);
      if (block.every((b) => b === 0)) break;
      if (!checksumOk(block)) throw new StrataError(`${file}: not a tar archive (bad header checksum at byte ${pos}); expected an uncompressed docker-archive`);
      const h = parseHeader(block, file, pos);
      const dataAt = pos + BLOCK;
      if (dataAt + h.size > size) throw new StrataError(`${file}: truncated: member '${h.name}' needs ${h.size} bytes at byte ${dataAt}, the file has ${size}`);
      if (h.type === ('x' as TarType) || h.type === ('L' as TarType) || h.type === ('K' as TarType)) {
        const data = Buffer.alloc(h.size);
        await readExactly(fh, data, dataAt, file);
        if (h.type === ('x' as TarType)) pending = { ...pending, ...parsePax(data) };
        else pending[h.type === ('L' as TarType) ? 'path' : 'linkpath'] = data.subarray(0, data.indexOf(0) < 0 ? data.length : data.indexOf(0));
      } else if (h.type !== ('g' as TarType)) {
        if (pending.path) h.name = decodeName(pending.path);
        if (pending.linkpath) h.linkname = decodeName(pending.linkpath);
        if (pending.size) h.size = Number(pending.size.toString());
        members.push({ ...h, offset: dataAt });
        pending = {};
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
    uname: field(b, 265, 32).toString('utf8'),
    gname: field(b, 297, 32).toString('utf8'),
    devmajor: num(b, 329, 8, file, pos),
    devminor: num(b, 337, 8, file, pos),
  };
}

function parsePax(data: Buffer): Record<string, Buffer> {
  const out: Record<string, Buffer> = {};
  let i = 0;
  while (i < data.length) {
    const space = data.indexOf(0x20, i);
    if (space < 0) break;
    const len = Number(data.toString('latin1', i, space));
    if (!(len > 0)) break;
    const record = data.subarray(space + 1, i + len - 1);
    const eq = record.indexOf(0x3d);
    out[record.toString('utf8', 0, eq)] = record.subarray(eq + 1);
    i += len;
  }
  return out;
}
