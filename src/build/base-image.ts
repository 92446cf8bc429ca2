import type { Platform } from '../model/image.js';
import type { SourceImage } from '../image/source.js';
import { type SourceOptions, openImageSource } from '../formats/table.js';
import { selectImage } from '../image/platform.js';

/** A base image (from_image, --from), whose layers are carried over unchanged; readable until closed. */
interface BaseImage {
  image: SourceImage;
  close(): Promise<void>;
}

/**
 * Open a base image of any format (see formats/table.ts). An only image is
 * taken whatever its platform, as nixpkgs does; from several, the one for
 * `platform`.
 */
export async function openBaseImage(name: string, platform: Platform, options?: SourceOptions): Promise<BaseImage> {
  const source = await openImageSource(name, options);
  try {
    return { image: selectImage(source, source.images.length > 1 ? platform : undefined), close: () => source.close() };
  } catch (e) {
    await source.close();
    throw e;
  }
}

/** How many layers a base image brings (they count against the layer budget). */
export async function countBaseLayers(name: string, platform: Platform, options?: SourceOptions): Promise<number> {
  const base = await openBaseImage(name, platform, options);
  await base.close();
  return base.image.layers.length;
}
