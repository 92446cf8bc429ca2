import { ExitCode, StrataError } from '../errors.js';
import type { ImageSource, SourceImage } from '../image/source.js';
import { type SourceOptions, locateImage } from '../formats/table.js';
import { sha256Digest } from '../model/digest.js';
import { compressionOf } from '../image/compression.js';
import { keyedLayers } from '../image/layer-keys.js';

/** What `strata verify` takes. */
export interface VerifyOptions {
  /** The image, named as locateImage reads it. */
  image: string;
  /** How a docker:// image is reached (credentials, TLS); default: the auth files. */
  source?: SourceOptions;
}

/**
 * Check an image throughout: `strata verify`. Opening it
 * checks every index, manifest and OCI config against its digest and size
 * (a docker-archive's config is checked here, against its name), that
 * the blobs and members they name are there, that each manifest has as many
 * layers as its config has diff_ids, and that the media types are known;
 * reading each layer then checks its blob's digest and size and its
 * uncompressed diff_id. A layer's key (annotation, or the config's field)
 * must name that diff_id and the blob's compression: a later push trusts it
 * to skip the layer unread. Every image of an index is checked, each layer once.
 * Whatever is wrong inside an image that exists is an Integrity error naming
 * the first mismatch.
 */
export async function verifyImage(options: VerifyOptions): Promise<{ images: number; layers: number }> {
  const located = await locateImage(options.image, options.source);
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
    await checkKeys(image);
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

/**
 * Each keyed layer's claims against its blob and the config's diff_id. A
 * docker-archive pulled from a keyed Docker manifest keeps the config's keys
 * but holds plain tars: its compression claims are of the registry's blobs.
 */
async function checkKeys(image: SourceImage): Promise<void> {
  const keyed = await keyedLayers({ layers: image.layers.map((l) => l.blob) }, () => Promise.resolve(image.config.bytes));
  for (const k of keyed) {
    for (const [i, layer] of image.layers.entries()) {
      if (layer.blob.digest !== k.digest) continue;
      const kind = k.compression.split('/')[0];
      const wrong =
        k.diffId !== layer.known.digest
          ? `its key names diff_id ${k.diffId}, the config ${layer.known.digest}`
          : image.manifest !== undefined && kind !== compressionOf(layer.blob.mediaType)
            ? `its key names compression ${k.compression}, the blob is ${layer.blob.mediaType}`
            : undefined;
      if (wrong !== undefined) {
        throw new StrataError(`${image.name}: layer ${i + 1} (${layer.path}): ${wrong}; the image's layer keys are wrong`, ExitCode.Integrity);
      }
    }
  }
}
