import { StrataError } from '../errors.js';
import type { Platform } from '../model/image.js';
import type { PyObject, PyValue } from '../util/pyjson.js';

/** An image config's rootfs.diff_ids; `what` names the config in the error. */
export function diffIdsOf(config: PyValue, what: string): string[] {
  const rootfs = config instanceof Map ? config.get('rootfs') : undefined;
  const diffIds = rootfs instanceof Map ? rootfs.get('diff_ids') : undefined;
  if (!Array.isArray(diffIds) || diffIds.some((d) => typeof d !== 'string' || !/^sha256:[0-9a-f]{64}$/.test(d))) {
    throw new StrataError(`${what} needs rootfs.diff_ids, a list of sha256 digests`);
  }
  return diffIds as string[];
}

/** The platform an image config states. */
export function platformOf(config: PyObject): Platform {
  const str = (key: string): string | undefined => {
    const v = config.get(key);
    return typeof v === 'string' && v !== '' ? v : undefined;
  };
  const variant = str('variant');
  return { os: str('os') ?? 'unknown', architecture: str('architecture') ?? 'unknown', ...(variant === undefined ? {} : { variant }) };
}
