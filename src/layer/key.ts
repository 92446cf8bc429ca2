import { lstatSync } from 'node:fs';
import { sha256Digest } from '../model/digest.js';

/**
 * The version of the tar layout strata packs layers in: part of every layer
 * key, raised whenever the same inputs would give other tar bytes.
 */
const TAR_FORMAT = 1;

/**
 * A layer's key: `sha256:` of a canonical JSON (sorted keys) of what makes
 * its tar bytes, computed without reading a file. Two layers with one key
 * have the same tar.
 */
export function layerKeyOf(makes: Record<string, unknown>): string {
  return sha256Digest(canonicalJson({ ...makes, tarFormat: TAR_FORMAT }));
}

/**
 * What a store path's files are, without reading them: its NAR hash where
 * the closure's source gave one; else which file it is on this machine
 * (device, inode and change time: a path rebuilt in place gets new ones),
 * a key that stays on this machine.
 */
export function pathContent(path: string, narHash: string | undefined): string {
  if (narHash !== undefined) return narHash;
  try {
    const st = lstatSync(path);
    return `local:${st.dev}:${st.ino}:${st.ctimeMs}`;
  } catch {
    return 'missing';
  }
}

function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined);
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${canonicalJson(x)}`).join(',')}}`;
  }
  return JSON.stringify(v ?? null);
}
