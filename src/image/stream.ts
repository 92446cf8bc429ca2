import { type Conf } from '../conf/conf.js';
import { type ConfImageOptions, imageFromConf } from './from-conf.js';
import type { Image } from './model.js';
import { type SinkOptions, openDestination } from './transports.js';

/** Write `image` to a destination (`-`, docker-archive:PATH, oci:DIR[:REF], oci-archive:PATH[:REF]). */
export async function writeImage(image: Image, destination: string, options: SinkOptions = {}): Promise<void> {
  const opened = openDestination(destination, options);
  try {
    await opened.sink.write(image);
    await opened.commit();
  } catch (e) {
    await opened.abort();
    throw e;
  }
}

/** Write the image a conf describes. */
export async function streamConf(conf: Conf, destination: string, options: ConfImageOptions & SinkOptions = {}): Promise<void> {
  await writeImage(await imageFromConf(conf, options), destination, options);
}
