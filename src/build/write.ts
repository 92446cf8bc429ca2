import { type Conf, parseConf } from '../conf/conf.js';
import type { Inspection } from '../inspect/inspect.js';
import { type MakeConfOptions, makeConf, readText } from './make-conf.js';
import { pushedDigest, writeImage, writeIndex } from './write-image.js';
import { StrataError } from '../errors.js';
import { checkPlatform, checkWalkedPlatform } from '../guard/platform-guard.js';
import { checkStorePaths, isStoreLayer } from '../layer/store-layer.js';
import { type ConfImageOptions, imageFromConf } from './from-conf.js';
import type { Image } from '../model/image.js';
import { type SinkOptions, attachDocument, attachable } from '../formats/table.js';
import type { ClosureSource } from '../closure/stores/table.js';
import type { SbomFormat } from './sbom.js';
import { startWritingThread } from '../util/hash-thread.js';

// The writing of images, which push and pull need without confs.
export { writeImage, writeIndex };

/** Write the image a conf describes; several confs make a multi-platform index. `watch` sees each image before it is written. */
export async function streamConf(conf: Conf | Conf[], destination: string, options: ConfImageOptions & SinkOptions = {}, watch: (image: Image) => Image = (i) => i): Promise<void> {
  const confs = Array.isArray(conf) ? conf : [conf];
  const opened = await Promise.allSettled(confs.map((c) => imageFromConf(c, options)));
  const images = opened.flatMap((o) => (o.status === 'fulfilled' ? [o.value] : []));
  const failed = opened.find((o) => o.status === 'rejected');
  if (failed) {
    // The others may hold a base image's scratch copy.
    await Promise.all(images.map((i) => i.close?.()));
    throw failed.reason;
  }
  try {
    const written = images.map(watch);
    await (written.length === 1 ? writeImage(written[0]!, destination, options) : writeIndex(written, destination, options));
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
  /** Store an SBOM with the image: beside a file, as a referrer in an OCI layout or a registry. */
  sbom?: { format?: SbomFormat; store?: ClosureSource['store']; onStored?(where: string): void };
}

/**
 * Write the images confs describe (several make a multi-platform index);
 * with `describe`, return the destination and each image written as `strata inspect` shows it.
 */
export async function writeConfs(confs: Conf[], options: WriteOptions): Promise<WrittenImages | undefined> {
  const to = options.to ?? '-';
  // Started now, on the core the checks and the guard's walk leave idle: ready for the first chunk.
  if (writesThroughThreads(to)) startWritingThread();
  // Refused before anything is opened or written.
  for (const c of confs) checkStorePaths(c.store_layers, c.store_dir);
  const guard = await platformGuard(confs, to, options);
  // A registry's push report and an engine's load report say what was written.
  const summary = options.describe === true && !to.startsWith('docker:') && !to.startsWith('docker-daemon:');
  if (summary && ['-', 'docker-archive:', 'docker-archive:-'].includes(to)) {
    throw new StrataError('--json: standard output holds the image; write it with -o FILE or --to DEST, or drop --json');
  }
  if (options.sbom === undefined) await streamConf(confs, to, options, guard);
  else await writeWithSbom(confs, to, options, options.sbom, guard);
  return summary ? { destination: to, images: await (await import('../inspect/inspect.js')).inspectImages(to) } : undefined;
}

/**
 * Store layer members kept between the guard's walk and the writer's read,
 * in all: about 20 MB of heap (0.5 KB a member), up to 50 MB of RSS.
 */
const KEPT_MEMBERS = 40_000;

/**
 * The platform guard, refusing before anything is written. A destination
 * that reads every store layer has it look at the walk its writer needs
 * anyway: each image's store layers are walked ahead, before the
 * destination is opened. Others (a registry or an engine may hold the
 * layers, read then not at all) have their store paths checked here, with
 * what the cache holds.
 */
async function platformGuard(confs: Conf[], to: string, options: WriteOptions): Promise<(image: Image) => Image> {
  const unchanged = (image: Image) => image;
  if (options.allowForeignBinaries === true) return unchanged;
  if (to !== '-' && !/^(docker-archive|oci|oci-archive):/.test(to)) {
    for (const c of confs) await checkPlatform(c.store_layers.flat(), { architecture: c.architecture, os: c.os ?? 'linux' }, options.cache?.beside('binaries'));
    return unchanged;
  }
  const budget = { members: KEPT_MEMBERS };
  return (image) => {
    checkWalkedPlatform(image.layers.filter(isStoreLayer), image.platform, budget);
    return image;
  };
}

/** Whether `to` is written by an output's own threads: standard output, or a file. */
const writesThroughThreads = (to: string): boolean => to === '-' || /^(docker-archive|oci-archive):/.test(to);

/**
 * Write one image and store its SBOM with it: each store path with the
 * diff_id of the layer holding it (as the sink computed them), the manifest
 * digest where the destination has one (a registry's as its push reported it).
 */
async function writeWithSbom(confs: Conf[], to: string, options: WriteOptions, sbom: NonNullable<WriteOptions['sbom']>, guard: (image: Image) => Image): Promise<void> {
  if (confs.length !== 1) throw new StrataError('--sbom: one image at a time; write each platform\'s image with its own --sbom');
  if (!attachable(to)) throw new StrataError(`--sbom: ${to} has no place for an SBOM; write to a file (-o FILE), an OCI layout or archive, or a registry (docker://)`);
  const conf = confs[0]!;
  // Read before anything is written, so a store that fails leaves nothing behind.
  // Loaded for an SBOM alone: a plain write starts without its writers.
  const [{ loadClosure }, { imageSbom }] = await Promise.all([import('../closure/stores/table.js'), import('./sbom.js')]);
  const closure = await loadClosure({ roots: conf.store_layers.flat(), storeDir: conf.store_dir, store: sbom.store });
  let layers: { contents: string[] }[] = [];
  let diffIds: string[] = [];
  let repoTag: string | null | undefined;
  const pushed = pushedDigest(options);
  await streamConf(conf, to, pushed.options, (image) => {
    guard(image);
    layers = image.layers;
    repoTag = image.repoTags[0];
    // Every sink asks for the config with the layers' diff_ids once it knows them.
    return Object.assign(Object.create(image) as Image, {
      config: (ids: string[]) => {
        diffIds = ids;
        return image.config(ids);
      },
    });
  });
  const [name, tag] = repoTag ? [repoTag.slice(0, repoTag.lastIndexOf(':')) || repoTag, repoTag.includes(':') ? repoTag.slice(repoTag.lastIndexOf(':') + 1) : undefined] : ['image', undefined];
  const document = await imageSbom(closure, layers.map((l, i) => ({ digest: diffIds[i]!, paths: l.contents })), { name, ...(tag === undefined ? {} : { tag }) }, sbom.format);
  sbom.onStored?.(await attachDocument(to, document, { ...options, digest: pushed.digest() }));
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
  // Every reference guides the planner; images in a registry also lend a push their keyed layers, unread.
  const images = (options.reuse ?? []).filter((r) => r.startsWith('docker:'));
  const conf = await makeConf(options);
  return writeConfs([conf], { ...options, registry: { ...options.registry, reuseFrom: images } });
}
