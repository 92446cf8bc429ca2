import { StrataError } from '../errors.js';
import type { Image, ImageSink } from '../model/image.js';
import { type SinkOptions, openDestination } from '../formats/table.js';

// Writing images to a destination: what pull and push need, apart from
// write.ts's confs, store layers and platform guard, which they do not load.

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

type Pushed = Parameters<NonNullable<NonNullable<SinkOptions['registry']>['onPushed']>>[0];

/** The options with a registry push's manifest digest kept as it is reported (undefined for other destinations). */
export function pushedDigest<O extends SinkOptions>(options: O): { options: O; digest(): string | undefined } {
  let digest: string | undefined;
  const registry = options.registry && {
    ...options.registry,
    onPushed: async (result: Pushed) => {
      digest = result.digest;
      await options.registry?.onPushed?.(result);
    },
  };
  return { options: { ...options, ...(registry === undefined ? {} : { registry }) }, digest: () => digest };
}
