import { ExitCode, StrataError } from '../errors.js';
import type { ImageSource } from '../image/source.js';
import { locateImage } from '../formats/table.js';
import { sha256Digest } from '../model/digest.js';

/** What `strata verify` takes. */
export interface VerifyOptions {
  /** The image, named as locateImage reads it. */
  image: string;
}

/**
 * Check an image throughout: `strata verify`. Opening it
 * checks every index, manifest and OCI config against its digest and size
 * (a docker-archive's config is checked here, against its name), that
 * the blobs and members they name are there, that each manifest has as many
 * layers as its config has diff_ids, and that the media types are known;
 * reading each layer then checks its blob's digest and size and its
 * uncompressed diff_id. Every image of an index is checked, each layer once.
 * Whatever is wrong inside an image that exists is an Integrity error naming
 * the first mismatch.
 */
export async function verifyImage(options: VerifyOptions): Promise<{ images: number; layers: number }> {
  const located = await locateImage(options.image);
  let source: ImageSource | undefined;
  try {
    source = await located.open();
    return await verifySource(source);
  } catch (e) {
    throw e instanceof StrataError && e.exitCode === ExitCode.BadInput ? new StrataError(e.message, ExitCode.Integrity) : e;
  } finally {
    await source?.close();
  }
}

/** Check every config and layer of an opened source (see verifyImage). */
export async function verifySource(source: ImageSource): Promise<{ images: number; layers: number }> {
  const seen = new Set<string>();
  for (const image of source.images) {
    const config = sha256Digest(image.config.bytes);
    if (config !== image.config.digest) {
      throw new StrataError(`${image.name}: config ${image.config.digest}: its digest is ${config}; the image is damaged`, ExitCode.Integrity);
    }
    for (const layer of image.layers) {
      const key = `${layer.blob.digest} ${layer.known.digest}`;
      if (seen.has(key)) continue;
      seen.add(key);
      // A source layer checks its digests as it is read to the end.
      for await (const chunk of layer.open()) void chunk;
    }
  }
  return { images: source.images.length, layers: seen.size };
}
