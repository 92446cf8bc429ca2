import { ExitCode, StrataError } from '../errors.js';
import type { WriteOptions } from './write.js';
import { pushedDigest } from './write-image.js';
import { historySbom, sbomFile, storedSbom } from './sbom.js';
import type { SbomFormat } from '../sbom/formats.js';
import type { AttachedDocument } from '../image/format.js';
import type { ImageSource } from '../image/source.js';
import { platformName } from '../image/platform.js';
import type { SinkOptions } from '../formats/table.js';
import { attachDocument, openImageSource } from '../formats/table.js';
import { copyImages } from './pull.js';

/** What `strata push` takes: the image, the registry, how to compress and reach it, and the SBOM to attach. */
export interface PushOptions extends SinkOptions {
  /** The image, named as openImageSource reads it. */
  source: string;
  /** docker://HOST[:PORT]/REPO[:TAG|@DIGEST] */
  destination: string;
  /** Push an SBOM of the image as a referrer of the pushed manifest (see sbomsOfSource). */
  sbom?: WriteOptions['sbom'];
}

/**
 * `strata push`: an image (docker-archive, oci:DIR[:REF], oci-archive, a
 * registry's docker://..., read with the same registry options, or - for an
 * archive on standard input) to `docker://...`: its config as it is, its
 * layers as stored when their compression is wanted. A source with several
 * platforms is pushed as a multi-platform index, with `--sbom` an SBOM
 * referring to each platform's manifest.
 */
export async function pushImage(options: PushOptions): Promise<void> {
  const { destination } = options;
  if (!destination.startsWith('docker:')) {
    throw new StrataError(`${destination}: push sends images to a registry; name it as docker://HOST[:PORT]/REPO[:TAG] (to write files, use strata stream --to)`);
  }
  // Opened once (standard input is read once): the SBOMs come from what the push reads.
  const source = await openImageSource(options.source, { registry: options.registry });
  try {
    // Found before anything is sent, so a source without one fails the push untouched.
    const sboms = options.sbom && (await sbomsOfSource(source, options.source, destination, options.sbom.format));
    const pushed = pushedDigest(options);
    await copyImages(source, destination, pushed.options);
    if (sboms === undefined || options.sbom === undefined) return;
    const digests = sboms.length === 1 ? [pushed.digest()!] : await platformManifests(destination, pushed.digest()!, source, options);
    for (const [i, sbom] of sboms.entries()) {
      if (sbom.describes !== undefined && sbom.describes !== digests[i]) {
        options.registry?.warn?.(`--sbom: the SBOM stored with ${options.source} names its manifest ${sbom.describes}; the push wrote the image as ${digests[i]} (other layer compression or manifest format), which the referrer's subject names`);
      }
      options.sbom.onStored?.(await attachDocument(destination, sbom.document, { ...options, digest: digests[i] }));
    }
  } finally {
    await source.close();
  }
}

/** An SBOM to push, and the manifest a stored one was written for. */
interface SourceSbom {
  document: AttachedDocument;
  describes?: string;
}

/**
 * The SBOM to push for each image of the source: the one stored with it
 * (see storedSbom), else one made from the image's history (its store
 * paths, each with its layer's diff_id), naming the pushed manifest.
 */
async function sbomsOfSource(source: ImageSource, name: string, destination: string, format: SbomFormat = 'cyclonedx'): Promise<SourceSbom[]> {
  const { mediaType, suffix } = sbomFile(format);
  const sboms: SourceSbom[] = [];
  for (const image of source.images) {
    const stored = await storedSbom(source, name, image, format);
    if (stored !== undefined) {
      sboms.push({ document: { mediaType, suffix, document: () => stored.bytes }, ...(stored.describes === undefined ? {} : { describes: stored.describes }) });
      continue;
    }
    const made = await historySbom(image, destination, format);
    if (made === undefined) {
      const which = source.images.length === 1 ? name : `${name} (${platformName(image.platform)})`;
      throw new StrataError(
        `--sbom: ${which} has no ${format} SBOM beside it or stored with it, and its history names no store paths to make one from; write the image with strata image or stream --sbom, or push it without --sbom`,
      );
    }
    sboms.push({ document: made });
  }
  return sboms;
}

/** The manifest of each platform of the index just pushed as `digest`, read back, in the source's order. */
async function platformManifests(destination: string, digest: string, source: ImageSource, options: PushOptions): Promise<string[]> {
  const pushed = await openImageSource(`${destination.replace(/(@sha256:[0-9a-f]+|:[^:/]+)$/, '')}@${digest}`, { registry: options.registry });
  try {
    const found = source.images.map((image) => pushed.images.find((p) => platformName(p.platform) === platformName(image.platform))?.manifest?.digest);
    if (found.some((d) => d === undefined)) throw new StrataError(`${destination}: the index pushed as ${digest} lacks a platform of ${options.source}; push again`, ExitCode.Registry);
    return found as string[];
  } finally {
    await pushed.close();
  }
}
