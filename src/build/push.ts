import { StrataError } from '../errors.js';
import type { Image } from '../model/image.js';
import { writeImage, writeIndex } from './write.js';
import type { SinkOptions } from '../formats/table.js';
import type { SourceImage } from '../image/source.js';
import { openImageSource } from '../formats/table.js';

/** What `strata push` takes: the image, the registry, and how to compress and reach it. */
export interface PushOptions extends SinkOptions {
  /** The image, named as openImageSource reads it. */
  source: string;
  /** docker://HOST[:PORT]/REPO[:TAG|@DIGEST] */
  destination: string;
}

/**
 * `strata push`: an image that exists as files (docker-archive, oci:DIR[:REF],
 * oci-archive) to `docker://...`: its config as it is, its layers as stored
 * when their compression is wanted. A source with several platforms is
 * pushed as a multi-platform index.
 */
export async function pushImage(options: PushOptions): Promise<void> {
  const { source, destination } = options;
  if (!destination.startsWith('docker:')) {
    throw new StrataError(`${destination}: push sends images to a registry; name it as docker://HOST[:PORT]/REPO[:TAG] (to write files, use strata stream --to)`);
  }
  const opened = await openImageSource(source);
  try {
    const images = opened.images.map(asImage);
    await (images.length === 1 ? writeImage(images[0]!, destination, options) : writeIndex(images, destination, options));
  } finally {
    await opened.close();
  }
}

/** The config's bytes are kept: its diff_ids already name the layers' tars. */
function asImage(source: SourceImage): Image {
  return { layers: source.layers, config: () => source.config.bytes, repoTags: source.refs, mtime: 0, platform: source.platform };
}
