import { type Conf } from '../conf/conf.js';
import { StrataError } from '../errors.js';
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
