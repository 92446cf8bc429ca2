import { StrataError } from '../errors.js';
import { readFile } from 'node:fs/promises';
import { type WriteOptions, pushedDigest } from './write.js';
import { type SbomFormat, sbomFile } from './sbom.js';
import { type AttachedDocument, pathAndRef } from '../image/format.js';
import type { SinkOptions } from '../formats/table.js';
import { attachDocument } from '../formats/table.js';
import { pullImage } from './pull.js';

/** What `strata push` takes: the image, the registry, how to compress and reach it, and the SBOM to attach. */
export interface PushOptions extends SinkOptions {
  /** The image, named as openImageSource reads it. */
  source: string;
  /** docker://HOST[:PORT]/REPO[:TAG|@DIGEST] */
  destination: string;
  /** Push the SBOM `--sbom` wrote beside the source file as a referrer. */
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
  const { source, destination } = options;
  if (!destination.startsWith('docker:')) {
    throw new StrataError(`${destination}: push sends images to a registry; name it as docker://HOST[:PORT]/REPO[:TAG] (to write files, use strata stream --to)`);
  }
  // Read first: a missing SBOM fails the push before anything is sent.
  const sbom = options.sbom && (await besideSource(source, options.sbom.format));
  const pushed = pushedDigest(options);
  await pullImage({ source, destination, sourceOptions: { registry: options.registry }, sinkOptions: pushed.options });
  if (sbom) options.sbom?.onStored?.(await attachDocument(destination, sbom, { ...options, digest: pushed.digest() }));
}

/** The SBOM `--sbom` wrote beside a source file (app.tar.cdx.json), as it is. */
async function besideSource(source: string, format: SbomFormat = 'cyclonedx'): Promise<AttachedDocument> {
  const file = pathAndRef(source.replace(/^(docker-archive|oci-archive):/, ''))[0];
  if (source === '-' || (/^[a-z][a-z0-9-]*:/.test(source) && !/^(docker-archive|oci-archive):/.test(source))) {
    throw new StrataError(`--sbom: push takes the SBOM from beside an image file (docker-archive:FILE or oci-archive:FILE); ${source} is not one`);
  }
  const { mediaType, suffix } = sbomFile(format);
  const bytes = await readFile(`${file}${suffix}`).catch((e: NodeJS.ErrnoException) => {
    throw new StrataError(`--sbom: ${file}${suffix}: cannot read (${e.code}); write it with strata image or stream --sbom -o ${file}`);
  });
  return { mediaType, suffix, document: () => bytes };
}
