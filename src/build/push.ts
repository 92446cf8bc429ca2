import { StrataError } from '../errors.js';
import { readFile } from 'node:fs/promises';
import { type WriteOptions, pushedDigest } from './write.js';
import { type SbomFormat, historySbom, sbomFile } from './sbom.js';
import { type AttachedDocument, pathAndRef } from '../image/format.js';
import type { ImageSource } from '../image/source.js';
import type { SinkOptions } from '../formats/table.js';
import { attachDocument, openImageSource } from '../formats/table.js';
import { copyImages } from './pull.js';

/** What `strata push` takes: the image, the registry, how to compress and reach it, and the SBOM to attach. */
export interface PushOptions extends SinkOptions {
  /** The image, named as openImageSource reads it. */
  source: string;
  /** docker://HOST[:PORT]/REPO[:TAG|@DIGEST] */
  destination: string;
  /** Push an SBOM of the image as a referrer of the pushed manifest (see sbomOfSource). */
  sbom?: WriteOptions['sbom'];
}

/**
 * `strata push`: an image (docker-archive, oci:DIR[:REF], oci-archive, a
 * registry's docker://..., read with the same registry options, or - for an
 * archive on standard input) to `docker://...`: its config as it is, its
 * layers as stored when their compression is wanted. A source with several
 * platforms is pushed as a multi-platform index.
 */
export async function pushImage(options: PushOptions): Promise<void> {
  const { destination } = options;
  if (!destination.startsWith('docker:')) {
    throw new StrataError(`${destination}: push sends images to a registry; name it as docker://HOST[:PORT]/REPO[:TAG] (to write files, use strata stream --to)`);
  }
  // Opened once (standard input is read once): the SBOM comes from what the push reads.
  const source = await openImageSource(options.source, { registry: options.registry });
  try {
    // Found before anything is sent, so a source without one fails the push untouched.
    const sbom = options.sbom && (await sbomOfSource(source, options.source, destination, options.sbom.format));
    const pushed = pushedDigest(options);
    await copyImages(source, destination, pushed.options);
    if (sbom === undefined || options.sbom === undefined) return;
    const digest = pushed.digest();
    if (sbom.describes !== undefined && sbom.describes !== digest) {
      options.registry?.warn?.(`--sbom: the SBOM stored with ${options.source} names its manifest ${sbom.describes}; the push wrote the image as ${digest} (other layer compression or manifest format), which the referrer's subject names`);
    }
    options.sbom.onStored?.(await attachDocument(destination, sbom.document, { ...options, digest }));
  } finally {
    await source.close();
  }
}

/**
 * The SBOM to push with a one-image source, first found of: the file
 * `--sbom` wrote beside a source file; the one stored with the source (an
 * OCI layout's or a registry's referrer of its manifest, as it is, with the
 * manifest it `describes`); one made from the image's history (its store
 * paths, each with its layer's diff_id), naming the pushed manifest.
 */
async function sbomOfSource(source: ImageSource, name: string, destination: string, format: SbomFormat = 'cyclonedx'): Promise<{ document: AttachedDocument; describes?: string }> {
  const { mediaType, suffix } = sbomFile(format);
  const [image, ...more] = source.images;
  if (image === undefined || more.length > 0) {
    throw new StrataError(`--sbom: ${name} holds ${source.images.length} images (one per platform) and an SBOM describes one; push one platform's image (strata pull ${name} oci:DIR --platform OS/ARCH) with --sbom, or the index without it`);
  }
  const beside = await besideSource(source, name, suffix);
  if (beside !== undefined) return { document: { mediaType, suffix, document: () => beside } };
  const subject = image.manifest?.digest;
  const stored = subject === undefined ? undefined : await source.referrer?.(subject, mediaType);
  if (stored !== undefined) return { document: { mediaType, suffix, document: () => stored }, describes: subject };
  const made = await historySbom(image, destination, format);
  if (made !== undefined) return { document: made };
  throw new StrataError(
    `--sbom: ${name} has no ${format} SBOM beside it or stored with it, and its history names no store paths to make one from; write the image with strata image or stream --sbom, or push it without --sbom`,
  );
}

/** The SBOM `--sbom` wrote beside a source file (app.tar.cdx.json), as it is; undefined when there is none. */
async function besideSource(source: ImageSource, name: string, suffix: string): Promise<Buffer | undefined> {
  if (source.format !== 'docker-archive' && source.format !== 'oci-archive') return undefined;
  const file = /^(docker-archive|oci-archive):/.test(name) ? pathAndRef(name.slice(name.indexOf(':') + 1))[0] : name;
  if (file === '-') return undefined;
  return readFile(`${file}${suffix}`).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return undefined;
    throw new StrataError(`--sbom: ${file}${suffix}: cannot read (${e.code}); remove it or write it again with strata image or stream --sbom -o ${file}`);
  });
}
