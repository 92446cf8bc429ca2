import { createHash } from 'node:crypto';

/** The SHA-256 of some bytes, in hex. */
export function sha256Hex(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** The OCI digest of some bytes: `sha256:<hex>`. */
export function sha256Digest(data: Buffer | string): string {
  return `sha256:${sha256Hex(data)}`;
}
