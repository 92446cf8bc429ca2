import { StrataError } from '../errors.js';
import { normaliseNarHash } from './nar-hash.js';

/** A path as a registration (validity) text describes it. */
export interface RegistrationEntry {
  path: string;
  narSize?: number;
  /** As written: `nix-store --dump-db` gives bare hex. */
  narHash?: string;
  references: string[];
}

/**
 * Parse Nix's (and the Guix daemon's) validity registration text: per path,
 * the path, [nar hash, nar size,] the deriver (possibly empty), the number of
 * references and the references. `exportReferencesGraph` and Guix
 * `#:references-graphs` write it without hash and size; `nix-store --dump-db`
 * writes it with them.
 */
export function parseRegistration(text: string, source: string): RegistrationEntry[] {
  const lines = text.split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  const entries: RegistrationEntry[] = [];
  let i = 0;
  // The line read last (0-based): the one a complaint is about.
  let at = 0;
  const fail = (what: string): never => {
    throw new StrataError(
      `${source}: line ${at + 1}: ${what}; expected a reference graph in Nix registration format ` +
        '(path, [nar hash, nar size,] deriver, count, references)',
    );
  };
  const next = (what: string): string => {
    at = i;
    if (i >= lines.length) fail(`unexpected end of file, wanted ${what}`);
    return lines[i++]!;
  };
  while (i < lines.length) {
    const path = next('a store path');
    if (!path.startsWith('/')) fail(`'${path}' is not an absolute store path`);
    let narSize: number | undefined;
    let narHash: string | undefined;
    // A line that is neither empty nor a path must be a nar hash: the dump-db
    // variant, which has sizes (a deriver line is always one or the other).
    if (i < lines.length && lines[i] !== '' && !lines[i]!.startsWith('/')) {
      at = i;
      narHash = lines[i++];
      const size = next('a nar size');
      if (!/^\d+$/.test(size)) fail(`'${size}' is not a nar size`);
      narSize = Number(size);
    }
    const deriver = next('a deriver line');
    if (deriver !== '' && !deriver.startsWith('/')) fail(`'${deriver}' is not a deriver path`);
    const countText = next('a reference count');
    if (!/^\d+$/.test(countText)) fail(`'${countText}' is not a reference count`);
    const references: string[] = [];
    for (let n = Number(countText); n > 0; n--) {
      const ref = next('a reference');
      if (!ref.startsWith('/')) fail(`'${ref}' is not an absolute store path`);
      references.push(ref);
    }
    entries.push({ path, ...(narSize === undefined ? {} : { narSize }), ...(narHash === undefined ? {} : { narHash }), references });
  }
  return entries;
}

/** The entry's NAR hash as `sha256:<hex>`, when it has one. */
export function narHashOf(e: RegistrationEntry): { narHash?: string } {
  const narHash = e.narHash === undefined ? undefined : normaliseNarHash(e.narHash);
  return narHash === undefined ? {} : { narHash };
}
