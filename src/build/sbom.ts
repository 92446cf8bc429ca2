import { readFile } from 'node:fs/promises';
import { type ClosureSource, loadClosure } from '../closure/stores/table.js';
import type { Closure } from '../closure/types.js';
import { CYCLONEDX_MEDIA_TYPE, cycloneDx } from '../sbom/cyclonedx.js';
import { StrataError } from '../errors.js';
import { type SourceOptions, openImageSource } from '../formats/table.js';
import { selectImage } from '../image/platform.js';
import type { ImageSource, SourceImage } from '../image/source.js';
import { pathAndRef } from '../image/format.js';
import type { Platform } from '../model/image.js';
import type { SbomFormat } from '../sbom/formats.js';
import type { SbomModel } from '../sbom/sbom.js';
import { SPDX_MEDIA_TYPE, spdx } from '../sbom/spdx.js';

/** Each format's writer, media type (an OCI artifactType too) and file suffix beside an image file. */
const WRITERS: Record<SbomFormat, { write(model: SbomModel): string; mediaType: string; suffix: string }> = {
  cyclonedx: { write: cycloneDx, mediaType: CYCLONEDX_MEDIA_TYPE, suffix: '.cdx.json' },
  spdx: { write: spdx, mediaType: SPDX_MEDIA_TYPE, suffix: '.spdx.json' },
};

// The model, and the history reader, are loaded when a document is made:
// stream, image and push name the formats here and seldom make one.
const model = () => import('../sbom/sbom.js');

/** A format's media type and the suffix of its file beside an image file. */
export function sbomFile(format: SbomFormat): { mediaType: string; suffix: string } {
  const { mediaType, suffix } = WRITERS[format];
  return { mediaType, suffix };
}

/** What `strata sbom` takes: a closure, and the document format (default CycloneDX). */
export type SbomOptions = ClosureSource & { format?: SbomFormat };

/** strata as the tool that made the document (its package.json). */
async function tool(): Promise<{ name: string; version: string }> {
  const { name, version } = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { name: string; version: string };
  return { name, version };
}

/** A JSON SBOM of a closure, naming strata as the tool: `strata sbom`. */
export async function closureSbom(options: SbomOptions): Promise<string> {
  const { sbomModel } = await model();
  return WRITERS[options.format ?? 'cyclonedx'].write(sbomModel({ closure: await loadClosure(options), tool: await tool() }));
}

/** What `strata sbom --image` takes: an image as locateImage reads it, which of an index, the format, and whether to print the stored SBOM. */
export interface ImageSbomOptions {
  image: string;
  platform?: Platform;
  format?: SbomFormat;
  /** The SBOM stored with the image (see storedSbom), as it is, instead of one made from its history. */
  stored?: boolean;
  /** How a docker:// image is reached (credentials, TLS). */
  source?: SourceOptions;
}

/**
 * A JSON SBOM of an image read back (`strata sbom --image`): the store
 * paths its history names, each with its layer's diff_id; or, `stored`,
 * the one stored with the image.
 */
export async function sourceImageSbom(options: ImageSbomOptions): Promise<string> {
  const format = options.format ?? 'cyclonedx';
  const source = await openImageSource(options.image, options.source);
  try {
    const image = selectImage(source, options.platform);
    if (options.stored) {
      const stored = await storedSbom(source, options.image, image, format);
      if (stored === undefined) {
        throw new StrataError(`${options.image}: no ${format} SBOM stored with it (beside its file, or as a referrer of its manifest in its OCI layout or registry); without --stored, strata sbom makes one from its history`);
      }
      return stored.bytes.toString('utf8');
    }
    const sbom = await historySbom(image, image.name, format);
    if (sbom === undefined) {
      throw new StrataError(`${options.image}: its history names no store paths (strata and nixpkgs write them); strata sbom reads a closure from ROOT or --graph instead`);
    }
    return sbom.document(image.manifest?.digest).toString('utf8');
  } finally {
    await source.close();
  }
}

/**
 * The SBOM stored with `image` of `source` (named `name`), as it is: the
 * file `--sbom` wrote beside a one-image source file (app.tar.cdx.json),
 * else an OCI layout's or a registry's referrer of the image's manifest
 * (which it `describes`); undefined when there is none.
 */
export async function storedSbom(source: ImageSource, name: string, image: SourceImage, format: SbomFormat): Promise<{ bytes: Buffer; describes?: string } | undefined> {
  const { mediaType, suffix } = WRITERS[format];
  // strata writes a file beside an archive of one image only.
  const beside = source.images.length === 1 ? await besideSource(source, name, suffix) : undefined;
  if (beside !== undefined) return { bytes: beside };
  const subject = image.manifest?.digest;
  const bytes = subject === undefined ? undefined : await source.referrer?.(subject, mediaType);
  return bytes === undefined ? undefined : { bytes, describes: subject! };
}

/** The SBOM beside a source file, as it is; undefined when there is none. */
async function besideSource(source: ImageSource, name: string, suffix: string): Promise<Buffer | undefined> {
  if (source.format !== 'docker-archive' && source.format !== 'oci-archive') return undefined;
  const file = /^(docker-archive|oci-archive):/.test(name) ? pathAndRef(name.slice(name.indexOf(':') + 1))[0] : name;
  if (file === '-') return undefined;
  return readFile(`${file}${suffix}`).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return undefined;
    throw new StrataError(`${file}${suffix}: cannot read the SBOM beside ${file} (${e.code}); remove it or write it again with strata image or stream --sbom -o ${file}`);
  });
}

/**
 * The SBOM of an image read back, named `name`, from its history alone (the
 * store paths of each layer, with its diff_id); undefined when the history
 * names no store paths.
 */
export async function historySbom(image: SourceImage, name: string, format: SbomFormat = 'cyclonedx'): Promise<ImageSbom | undefined> {
  const paths = (await import('../image/history.js')).historyPaths(image);
  if (paths.every((p) => p.length === 0)) return undefined;
  const layers = image.layers.map((l, i) => ({ digest: l.known.digest, paths: paths[i]! }));
  const { write, mediaType, suffix } = WRITERS[format];
  const [{ historySbomModel }, by] = await Promise.all([model(), tool()]);
  return { mediaType, suffix, document: (digest) => Buffer.from(write(historySbomModel({ layers, image: { name, ...(digest === undefined ? {} : { digest }) }, tool: by }))) };
}

/** An SBOM of a written image: the document for its manifest (when it has one), how to store it. */
interface ImageSbom {
  mediaType: string;
  suffix: string;
  /** The document; `digest` is the image manifest's, when the destination has one. */
  document(digest?: string): Buffer;
}

/** The SBOM of an image: each store path with the digest (diff_id) of the layer holding it. */
export async function imageSbom(
  closure: Closure,
  layers: { digest: string; paths: readonly string[] }[],
  image: { name: string; tag?: string },
  format: SbomFormat = 'cyclonedx',
): Promise<ImageSbom> {
  const writer = WRITERS[format];
  const [{ sbomModel }, by] = await Promise.all([model(), tool()]);
  return {
    mediaType: writer.mediaType,
    suffix: writer.suffix,
    document: (digest) => Buffer.from(writer.write(sbomModel({ closure, layers, image: { ...image, ...(digest === undefined ? {} : { digest }) }, tool: by }))),
  };
}
