import { type Conf, parseConf } from '../conf/conf.js';
import { type Inspection, inspectImages } from '../inspect/inspect.js';
import { type MakeConfOptions, confAndHashes, readText } from './make-conf.js';
import { StrataError } from '../errors.js';
import { checkPlatform } from '../guard/platform-guard.js';
import { type ConfImageOptions, imageFromConf } from './from-conf.js';
import type { Image, ImageSink } from '../model/image.js';
import { type SinkOptions, openDestination } from '../formats/table.js';

/** Write `image` to a destination (`-`, docker-archive:PATH, oci:DIR[:REF], oci-archive:PATH[:REF]). */
export function writeImage(image: Image, destination: string, options: SinkOptions = {}): Promise<void> {
  return writeTo(destination, options, (sink) => sink.write(image));
}

/** Write several images (one per platform) as one multi-platform index. */
export function writeIndex(images: Image[], destination: string, options: SinkOptions = {}): Promise<void> {
  return writeTo(destination, options, async (sink) => {
    if (!sink.writeIndex) throw new StrataError(`--to ${destination}: several images need an OCI destination (oci:DIR[:REF] or oci-archive:FILE[:REF])`);
    await sink.writeIndex(images);
  });
}

/** Open a destination, write to it, and commit it; on failure, drop what was written. */
async function writeTo(destination: string, options: SinkOptions, write: (sink: ImageSink) => Promise<void>): Promise<void> {
  const opened = await openDestination(destination, options);
  try {
    await write(opened.sink);
    await opened.commit();
    options.progress?.done(true);
  } catch (e) {
    options.progress?.done(false);
    await opened.abort();
    throw e;
  }
}

/** Write the image a conf describes; several confs make a multi-platform index. */
export async function streamConf(conf: Conf | Conf[], destination: string, options: ConfImageOptions & SinkOptions = {}): Promise<void> {
  const confs = Array.isArray(conf) ? conf : [conf];
  const images = await Promise.all(confs.map((c) => imageFromConf(c, options)));
  try {
    await (images.length === 1 ? writeImage(images[0]!, destination, options) : writeIndex(images, destination, options));
  } finally {
    await Promise.all(images.map((i) => i.close?.()));
  }
}

/** What was written, as `--json` prints it. */
export interface WrittenImages {
  destination: string;
  images: Inspection[];
}

/** Where and how `strata stream` and `strata image` write. */
export interface WriteOptions extends ConfImageOptions, SinkOptions {
  /** The destination (see openDestination); default `-`, a docker-archive on standard output. */
  to?: string;
  /** Describe what was written (for a registry, its push report does that). */
  describe?: boolean;
  /** Let the closure hold executables and libraries of another platform than the image's. */
  allowForeignBinaries?: boolean;
}

/**
 * Write the images confs describe (several make a multi-platform index);
 * with `describe`, return the destination and each image written as `strata inspect` shows it.
 */
export async function writeConfs(confs: Conf[], options: WriteOptions): Promise<WrittenImages | undefined> {
  const to = options.to ?? '-';
  // Refused before anything is opened or written.
  if (options.allowForeignBinaries !== true) {
    for (const c of confs) checkPlatform(c.store_layers.flat(), { architecture: c.architecture, os: c.os ?? 'linux' });
  }
  const summary = options.describe === true && !to.startsWith('docker:');
  if (summary && ['-', 'docker-archive:', 'docker-archive:-'].includes(to)) {
    throw new StrataError('--json: standard output holds the image; write it with -o FILE or --to DEST, or drop --json');
  }
  await streamConf(confs, to, options);
  return summary ? { destination: to, images: await inspectImages(to) } : undefined;
}

/** What `strata stream` takes: conf.json files (nixpkgs' or strata's), one per platform. */
export interface StreamOptions extends WriteOptions {
  confs: string[];
  warn?(message: string): void;
}

/** Write the image of conf.json files: `strata stream`. */
export async function streamConfFiles(options: StreamOptions): Promise<WrittenImages | undefined> {
  const confs = await Promise.all(options.confs.map(async (f) => parseConf(await readText(f, 'conf'), f, { warn: options.warn })));
  return writeConfs(confs, options);
}

/** What `strata image` takes: a conf's options and where to write. */
export interface BuildImageOptions extends MakeConfOptions, WriteOptions {}

/** Closure, plan, conf and image in one go: `strata image`. */
export async function buildImage(options: BuildImageOptions): Promise<WrittenImages | undefined> {
  // Images in a registry are for the push to take layers from, plans and confs for the planner.
  const images = (options.reuse ?? []).filter((r) => r.startsWith('docker:'));
  if (images.length > 0 && !options.to?.startsWith('docker:')) throw new StrataError(`--reuse ${images[0]}: an image in a registry is reused by a push; give --to docker://...`);
  const { conf, narHashes } = await confAndHashes({ ...options, reuse: options.reuse?.filter((r) => !r.startsWith('docker:')) });
  return writeConfs([conf], { ...options, narHashes, registry: { ...options.registry, reuseFrom: images } });
}
