import { type Stats } from 'node:fs';
import { stat } from 'node:fs/promises';
import { StrataError } from '../errors.js';
import { pathAndRef } from '../image/transports.js';
import { TarArchive } from './archive.js';
import { readDockerArchive } from './docker-archive.js';
import type { ImageSource } from './model.js';
import { readOciArchive } from './oci-archive.js';
import { layoutDirectory, readOciLayout } from './oci-layout.js';

/** A kind of image source, named as skopeo names it: `TRANSPORT:PATH[:REF]`. */
export interface SourceTransport {
  name: string;
  open(path: string, ref: string | undefined, name: string): Promise<ImageSource>;
}

export const SOURCES: SourceTransport[] = [
  { name: 'docker-archive', open: (path, ref, name) => openArchive(path, ref, name, 'docker-archive') },
  { name: 'oci', open: (dir, ref, name) => openLayout(dir, ref, name) },
  { name: 'oci-archive', open: (path, ref, name) => openArchive(path, ref, name, 'oci-archive') },
];

/** An image name whose file or directory exists, not read yet. */
export interface LocatedImage {
  name: string;
  open(): Promise<ImageSource>;
}

/**
 * Find the image `name` names: `docker-archive:FILE[:TAG]`,
 * `oci:DIR[:REF]`, `oci-archive:FILE[:REF]`, or a plain path (a directory
 * is an OCI layout; a file, plain or compressed, is a docker-archive or an
 * OCI archive by what it holds).
 */
export async function locateImage(name: string): Promise<LocatedImage> {
  const colon = name.indexOf(':');
  const transport = colon < 0 ? undefined : SOURCES.find((t) => t.name === name.slice(0, colon));
  if (transport) {
    const [path, ref] = pathAndRef(name.slice(colon + 1));
    if (path === '') throw new StrataError(`${name}: no path; expected ${transport.name}:PATH`);
    await statOrFail(path);
    return { name, open: () => transport.open(path, ref, name) };
  }
  let st: Stats;
  try {
    st = await statOrFail(name);
  } catch (e) {
    if (/^[a-z][a-z0-9-]*:/.test(name)) {
      throw new StrataError(`${name}: strata reads images from ${SOURCES.map((t) => `${t.name}:`).join(', ')} or a path`);
    }
    throw e;
  }
  return { name, open: () => (st.isDirectory() ? openLayout(name, undefined, name) : openArchive(name, undefined, name)) };
}

/** Open the image `name` names (see locateImage). */
export async function openImageSource(name: string): Promise<ImageSource> {
  return (await locateImage(name)).open();
}

async function openLayout(dir: string, ref: string | undefined, name: string): Promise<ImageSource> {
  return { name, format: 'oci', images: await readOciLayout(layoutDirectory(dir), name, ref), close: async () => {} };
}

/** A docker-archive or OCI archive; without a format, the one the archive's members show. */
async function openArchive(path: string, ref: string | undefined, name: string, format?: string): Promise<ImageSource> {
  const archive = await TarArchive.open(path);
  try {
    const kind = format ?? (archive.member('manifest.json') ? 'docker-archive' : archive.member('oci-layout') ? 'oci-archive' : undefined);
    if (kind === undefined) throw new StrataError(`${name}: holds neither a manifest.json (docker-archive) nor an oci-layout (OCI archive); not an image archive`);
    const images = kind === 'docker-archive' ? await readDockerArchive(archive, name, ref) : await readOciArchive(archive, name, ref);
    return { name, format: kind, images, close: () => archive.close() };
  } catch (e) {
    await archive.close();
    throw e;
  }
}

async function statOrFail(path: string): Promise<Stats> {
  try {
    return await stat(path);
  } catch (e) {
    throw new StrataError(`${path}: cannot open (${(e as NodeJS.ErrnoException).code})`);
  }
}
