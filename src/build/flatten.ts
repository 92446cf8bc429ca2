import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { StrataError } from '../errors.js';
import { openOutput } from '../output.js';
import { openImageSource } from '../formats/table.js';
import type { SourceImage, SourceLayer } from '../image/source.js';
import { removeOnExit } from '../scratch.js';
import { BLOCK, TarType, encodeHeader, endOfArchive, padding } from '../tar/header.js';
import { type TarMember, indexTar } from '../tar/reader.js';

/** A layer's uncompressed tar, written to a scratch file (digests checked as it is read). */
interface SpooledLayer {
  layer: SourceLayer;
  file: string;
  size: number;
}

/** A scratch directory removed when `use` ends, or at exit or on a signal if the process is cut short. */
export async function withScratch<T>(use: (dir: string) => Promise<T>): Promise<T> {
  const dir = join(tmpdir(), `strata-scratch-${process.pid}-${randomBytes(4).toString('hex')}`);
  // Registered before it exists, so no signal finds it unregistered.
  const forget = removeOnExit(dir);
  try {
    await mkdir(dir, { mode: 0o700 });
  } catch (e) {
    forget();
    throw new StrataError(`cannot make a scratch directory in ${tmpdir()} (${(e as NodeJS.ErrnoException).code}); set TMPDIR`);
  }
  try {
    return await use(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
    forget();
  }
}

/** Write each layer of `image` as a plain tar under `dir`, bottom first. */
export async function spoolLayers(image: SourceImage, dir: string, prefix = ''): Promise<SpooledLayer[]> {
  const spooled: SpooledLayer[] = [];
  for (const [i, layer] of image.layers.entries()) {
    const file = join(dir, `${prefix}${i}.tar`);
    let size = 0;
    const counted = (async function* () {
      for await (const chunk of layer.open()) {
        size += chunk.length;
        yield chunk;
      }
    })();
    await pipeline(Readable.from(counted), createWriteStream(file));
    spooled.push({ layer, file, size });
  }
  return spooled;
}

/** One path of the flattened tree: the member that last set it, and where its data lies. */
interface Entry {
  member: TarMember;
  /** Path components, normalized ("" for the root). */
  parts: string[];
  data?: { file: string; offset: number; size: number };
}

const WHITEOUT = '.wh.';
const OPAQUE = '.wh..wh..opq';

function components(name: string): string[] {
  return name.split('/').filter((p) => p !== '' && p !== '.');
}

/** Remove `key` (unless `keepSelf`) and every path below it. */
function removeTree(tree: Map<string, Entry>, key: string, keepSelf: boolean): void {
  const below = key === '' ? '' : `${key}/`;
  for (const k of [...tree.keys()]) {
    if ((k === key && !keepSelf) || (k !== key && k.startsWith(below))) tree.delete(k);
  }
}

/**
 * The file system an image's layers make, applied bottom first as a
 * container engine applies them: a later entry replaces an earlier one (a
 * non-directory replacing a directory drops what was under it), `.wh.NAME`
 * removes NAME from the layers below, `.wh..wh..opq` empties its directory
 * of what the layers below put there. Hard links become files holding their
 * target's data, as GNU tar's --hard-dereference writes them.
 */
async function flattenLayers(layers: SpooledLayer[]): Promise<Entry[]> {
  const tree = new Map<string, Entry>();
  for (const { file, layer } of layers) {
    const members = await indexTar(file);
    // Whiteouts hide the layers below only, wherever they stand in this layer.
    for (const m of members) {
      const parts = components(m.name);
      const base = parts.at(-1) ?? '';
      if (!base.startsWith(WHITEOUT)) continue;
      const dir = parts.slice(0, -1).join('/');
      if (base === OPAQUE) removeTree(tree, dir, true);
      else removeTree(tree, [...parts.slice(0, -1), base.slice(WHITEOUT.length)].join('/'), false);
    }
    for (const m of members) {
      const parts = components(m.name);
      if ((parts.at(-1) ?? '').startsWith(WHITEOUT)) continue;
      const key = parts.join('/');
      const previous = tree.get(key);
      if (previous && previous.member.type === TarType.Directory && m.type !== TarType.Directory) removeTree(tree, key, true);
      if (m.type === TarType.HardLink) {
        const target = tree.get(components(m.linkname).join('/'));
        if (!target || target.member.type !== TarType.File) {
          throw new StrataError(`${layer.path}: hard link ${m.name} points to ${m.linkname}, which is not a file of this or a lower layer; the image is damaged`);
        }
        tree.set(key, { parts, member: { ...target.member, name: m.name }, data: target.data });
      } else {
        tree.set(key, { parts, member: m, data: m.type === TarType.File ? { file, offset: m.offset, size: m.size } : undefined });
      }
    }
  }
  // Each directory before what it holds, names in byte order within it (GNU tar --sort=name).
  const byParts = (a: Entry, b: Entry): number => {
    for (let i = 0; i < Math.min(a.parts.length, b.parts.length); i++) {
      const c = Buffer.compare(Buffer.from(a.parts[i]!), Buffer.from(b.parts[i]!));
      if (c !== 0) return c;
    }
    return a.parts.length - b.parts.length;
  };
  return [...tree.values()].sort(byParts);
}

/** What `strata export` takes. */
export interface ExportOptions {
  /** The image (any format strata reads). */
  image: string;
  /** The tar file; `-` (the default) for standard output. */
  output?: string;
}

/**
 * `strata export`: the file system of an image as one plain tar: members
 * named `./PATH`, as `tar -C ROOT .` names them, with the owners, modes,
 * times and extended attributes the layers gave them.
 */
export async function exportImage(options: ExportOptions): Promise<{ entries: number }> {
  const { image, output = '-' } = options;
  const source = await openImageSource(image);
  try {
    if (source.images.length !== 1) {
      throw new StrataError(`${image}: holds ${source.images.length} images; name one (docker-archive:FILE:NAME:TAG, oci:DIR:REF)`);
    }
    return await withScratch(async (dir) => {
      const entries = await flattenLayers(await spoolLayers(source.images[0]!, dir));
      const out = openOutput(output);
      try {
        const put = (b: Buffer): Promise<void> => out.sink.write(b);
        for (const e of entries) {
          const pax = new Map([...e.member.pax].filter(([k]) => k !== 'path' && k !== 'linkpath' && k !== 'size'));
          const size = e.data?.size ?? 0;
          const name = e.parts.length === 0 ? './' : `./${e.parts.join('/')}`;
          await put(encodeHeader({ ...e.member, name, size, type: e.data ? TarType.File : e.member.type, pax }));
          if (e.data) {
            await copyRange(e.data.file, e.data.offset, size, put);
            await put(padding(size));
          }
        }
        await put(endOfArchive(out.sink.bytes));
        await out.commit();
      } catch (err) {
        await out.abort();
        throw err;
      }
      return { entries: entries.length };
    });
  } finally {
    await source.close();
  }
}

async function copyRange(file: string, offset: number, size: number, put: (b: Buffer) => Promise<void>): Promise<void> {
  const fh = await open(file, 'r');
  try {
    for (let done = 0; done < size; ) {
      const chunk = Buffer.allocUnsafe(Math.min(size - done, 256 * BLOCK));
      const { bytesRead } = await fh.read(chunk, 0, chunk.length, offset + done);
      if (bytesRead === 0) throw new StrataError(`${file}: ended ${size - done} bytes early`);
      await put(chunk.subarray(0, bytesRead));
      done += bytesRead;
    }
  } finally {
    await fh.close();
  }
}
