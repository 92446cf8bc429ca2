import { StrataError } from '../errors.js';
import type { Platform } from '../model/image.js';
import type { ImageSource, SourceImage } from './source.js';

/** `os/architecture[/variant]`, as --platform takes it. */
export function platformName(p: Platform): string {
  return [p.os, p.architecture, ...(p.variant ? [p.variant] : [])].join('/');
}

export function parsePlatform(text: string): Platform {
  const [os, architecture, variant, ...rest] = text.split('/');
  if (!os || !architecture || variant === '' || rest.length > 0) throw new StrataError(`--platform ${text}: expected OS/ARCH[/VARIANT], such as linux/arm64`);
  return { os, architecture, ...(variant === undefined ? {} : { variant }) };
}

/** The one image of `source` for `platform` (any variant unless one is given), or its only image when no platform is given. */
export function selectImage(source: ImageSource, platform?: Platform): SourceImage {
  const fits = platform
    ? source.images.filter((i) => i.platform.os === platform.os && i.platform.architecture === platform.architecture && (!platform.variant || i.platform.variant === platform.variant))
    : source.images;
  if (fits.length === 1) return fits[0]!;
  const list = (images: SourceImage[]): string => images.map((i) => `${platformName(i.platform)}${i.refs.length > 0 ? ` (${i.refs.join(', ')})` : ''}`).join(', ');
  if (fits.length === 0) throw new StrataError(`${source.name}: no image for ${platformName(platform!)} (it has: ${list(source.images)})`);
  if (new Set(fits.map((i) => platformName(i.platform))).size > 1) {
    throw new StrataError(`${source.name}: holds images for several platforms (${list(fits)}); choose one with --platform`);
  }
  throw new StrataError(`${source.name}: holds several images (${list(fits)}); name one as TRANSPORT:PATH:REF`);
}
