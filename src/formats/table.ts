import { type Stats } from 'node:fs';
import { stat } from 'node:fs/promises';
import { StrataError } from '../errors.js';
import { type AttachedDocument, type CommonSinkOptions, type Format, type OpenedSink, pathAndRef } from '../image/format.js';
import type { ImageSource } from '../image/source.js';
import { archiveWriter, dockerArchive } from './docker-archive/index.js';
import { type DaemonOptions, dockerDaemon } from './docker-daemon/index.js';
import { ociArchive, ociLayout } from './oci-layout/index.js';
import { registry } from './registry/index.js';
import type { RegistryReadOptions } from './registry/reader.js';
import type { RegistryOptions } from './registry/sink.js';

/** What a destination needs beyond its name. */
export interface SinkOptions extends CommonSinkOptions {
  /** Credentials, TLS, mounts, manifest format and reporting of docker:// destinations. */
  registry?: RegistryOptions;
  /** Reporting of docker-daemon: destinations. */
  daemon?: DaemonOptions;
}

/** What a source needs beyond its name. */
export interface SourceOptions {
  /** Credentials and TLS of docker:// sources (default: the auth files' entry, TLS verified). */
  registry?: RegistryReadOptions;
}

/** Every format strata reads or writes: a new one is a folder beside this file and a line here. */
const FORMATS: Format<SinkOptions, SourceOptions>[] = [dockerArchive, ociLayout, ociArchive, registry, dockerDaemon(archiveWriter)];

const readable = FORMATS.filter((f) => f.reader !== undefined);

/** Open a destination such as `docker-archive:img.tar`, `oci:dir:tag`, or `-` (docker-archive on stdout). */
export function openDestination(name: string, options: SinkOptions = {}): Promise<OpenedSink> {
  if (name === '-') return openDestination('docker-archive:-', options);
  const colon = name.indexOf(':');
  const format = colon < 0 ? undefined : FORMATS.find((f) => f.name === name.slice(0, colon) && f.openSink);
  if (!format?.openSink) {
    const names = FORMATS.filter((f) => f.openSink).map((f) => f.name);
    throw new StrataError(`--to ${name}: expected TRANSPORT:REFERENCE with a transport of ${names.join(', ')} (e.g. oci:./layout:latest), or - for stdout`);
  }
  return format.openSink(name.slice(colon + 1), options);
}

/** Start loading the writer of destination `name` (see Format.prepareSink); a name openDestination refuses is left to it. */
export function prepareDestination(name: string): void {
  const transport = name === '-' ? 'docker-archive' : name.slice(0, Math.max(0, name.indexOf(':')));
  FORMATS.find((f) => f.name === transport)?.prepareSink?.();
}

/** The format of a destination that can store a document with its image (see attachDocument), or undefined. */
export function attachable(name: string): boolean {
  const colon = name.indexOf(':');
  const format = FORMATS.find((f) => f.name === name.slice(0, colon));
  const reference = name.slice(colon + 1);
  return colon > 0 && format?.attach !== undefined && reference !== '' && reference !== '-';
}

/** Store a document (an SBOM) with the image just written to `name`; where it went, for messages. */
export function attachDocument(name: string, doc: AttachedDocument, options: SinkOptions & { digest?: string }): Promise<string> {
  const colon = name.indexOf(':');
  const format = FORMATS.find((f) => f.name === name.slice(0, colon));
  if (!format?.attach) throw new StrataError(`${name}: cannot hold a document beside its image`);
  return format.attach(name.slice(colon + 1), doc, options);
}

/** An image name whose file or directory exists, not read yet. */
interface LocatedImage {
  name: string;
  open(): Promise<ImageSource>;
}

/**
 * Find the image `name` names: `docker-archive:FILE[:TAG]`,
 * `oci:DIR[:REF]`, `oci-archive:FILE[:REF]`,
 * `docker://HOST/REPO[:TAG|@DIGEST]` (a registry, reached when opened),
 * a plain path (a directory is an OCI layout; a file, plain or compressed,
 * is a docker-archive or an OCI archive by what it holds), or `-`, such an
 * archive on standard input.
 */
export async function locateImage(name: string, options: SourceOptions = {}): Promise<LocatedImage> {
  // An archive arriving on a pipe (`./result | strata push - docker://...`), read once.
  if (name === '-') return { name, open: () => openArchive(name, undefined, 'standard input') };
  const colon = name.indexOf(':');
  const format = colon < 0 ? undefined : readable.find((f) => f.name === name.slice(0, colon));
  const reader = format?.reader;
  if (reader?.kind === 'remote') return { name, open: () => reader.open(name.slice(colon + 1), name, options) };
  if (format) {
    const [path, ref] = pathAndRef(name.slice(colon + 1));
    if (path === '') throw new StrataError(`${name}: no path; expected ${format.name}:PATH`);
    if (path !== '-') await statOrFail(path);
    return { name, open: () => openWith(format, path, ref, name) };
  }
  let st: Stats;
  try {
    st = await statOrFail(name);
  } catch (e) {
    if (/^[a-z][a-z0-9-]*:/.test(name)) {
      throw new StrataError(`${name}: strata reads images from ${readable.map((f) => `${f.name}:`).join(', ')} or a path`);
    }
    throw e;
  }
  const directory = readable.find((f) => f.reader!.kind === 'directory');
  return { name, open: () => (st.isDirectory() && directory ? openWith(directory, name, undefined, name) : openArchive(name, undefined, name)) };
}

/** Open the image `name` names (see locateImage). */
export async function openImageSource(name: string, options: SourceOptions = {}): Promise<ImageSource> {
  return (await locateImage(name, options)).open();
}

function openWith(format: Format<SinkOptions, SourceOptions>, path: string, ref: string | undefined, name: string): Promise<ImageSource> {
  const reader = format.reader!;
  return reader.kind === 'directory' ? reader.open(path, ref, name) : openArchive(path, ref, name, format);
}

/** A tar of images; without a format, the one whose marker member the archive holds. */
async function openArchive(path: string, ref: string | undefined, name: string, format?: Format<SinkOptions, SourceOptions>): Promise<ImageSource> {
  // Loaded here: a run that only writes has no archive to read.
  const { TarArchive } = await import('../image/tar-archive.js');
  const archive = await TarArchive.open(path);
  try {
    const archives = readable.flatMap((f) => (f.reader?.kind === 'archive' ? [{ format: f, reader: f.reader }] : []));
    const found = format ? archives.find((a) => a.format === format) : archives.find((a) => archive.member(a.reader.marker));
    if (found === undefined) {
      throw new StrataError(`${name}: holds neither ${archives.map((a) => a.reader.markerText).join(' nor ')}; not an image archive`);
    }
    const images = await found.reader.read(archive, name, ref);
    return { name, format: found.format.name, images, close: () => archive.close() };
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
