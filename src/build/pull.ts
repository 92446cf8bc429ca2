import { type SinkOptions, type SourceOptions, openImageSource } from '../formats/table.js';
import { selectImage } from '../image/platform.js';
import type { ImageSource, SourceImage } from '../image/source.js';
import type { Image, Platform } from '../model/image.js';
import { writeImage, writeIndex } from './write-image.js';

export interface PullOptions {
  /** Any image strata reads: docker://HOST/REPO[:TAG|@DIGEST], docker-archive:FILE, oci:DIR[:REF], ... */
  source: string;
  /** Any destination strata writes (see openDestination). */
  destination: string;
  /** The image to take from an index; without it, every image (a multi-platform destination) or the only one. */
  platform?: Platform;
  /** How the source is reached (registry credentials and TLS). */
  sourceOptions?: SourceOptions;
  /** How the destination is written. */
  sinkOptions?: SinkOptions;
}

export interface Pulled {
  /**
   * What pins the source: the digest of the manifest or index its name
   * resolved to (use it as @DIGEST); for a docker-archive, which has no
   * manifest, the image's config digest.
   */
  digest: string;
  /** Each image written: its platform and manifest (or config) digest. */
  images: { platform: Platform; digest: string }[];
}

/**
 * Copy an image from any source to any destination, its layers as they are
 * stored where the destination keeps their compression (mounted, not sent,
 * when both are the same registry); tell the digest that pins the source.
 */
export async function pullImage(options: PullOptions): Promise<Pulled> {
  const source = await openImageSource(options.source, options.sourceOptions);
  try {
    return await copyImages(source, options.destination, options.sinkOptions, options.platform);
  } finally {
    await source.close();
  }
}

/** Write the images of an opened source to `destination` (see pullImage); the source stays open. */
export async function copyImages(source: ImageSource, destination: string, sink: SinkOptions = {}, platform?: Platform): Promise<Pulled> {
  const chosen = platform !== undefined && source.images.length > 1 ? [selectImage(source, platform)] : source.images;
  const images = chosen.map(asImage);
  await (images.length === 1 ? writeImage(images[0]!, destination, sink) : writeIndex(images, destination, sink));
  const digestOf = (i: SourceImage): string => i.manifest?.digest ?? i.config.digest;
  return {
    digest: source.digest ?? (source.images.length === 1 ? digestOf(source.images[0]!) : digestOf(chosen[0]!)),
    images: chosen.map((i) => ({ platform: i.platform, digest: digestOf(i) })),
  };
}

/** The config's bytes are kept: its diff_ids already name the layers' tars. */
function asImage(source: SourceImage): Image {
  return { layers: source.layers, config: () => source.config.bytes, repoTags: source.refs, mtime: 0, platform: source.platform };
}
