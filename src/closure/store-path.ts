// Store path names: the hash part, the name part, the store directory.

/** A store path's hash part and dash, in Nix's base-32 alphabet. */
const HASH_PART = '[0-9a-df-np-sv-z]{32}-';
const leadingHash = new RegExp(`^${HASH_PART}`);
const storePathPrefixes = new RegExp(`/[^\\s]*/${HASH_PART}`, 'g');

/** A store path's file name without its hash part: `hello-2.12` of `abc...-hello-2.12`. */
export function storeName(baseName: string): string {
  return baseName.replace(leadingHash, '');
}

/** A store path's name without its directory and hash: `hello-2.12`. */
export function shortName(path: string): string {
  return storeName(path.slice(path.lastIndexOf('/') + 1));
}

/** Text with every store path in it cut to its name (`/nix/store/abc...-hello-2.12/bin` to `hello-2.12/bin`). */
export function shortenStorePaths(text: string): string {
  return text.replace(storePathPrefixes, '');
}

/** The directory holding a store path, e.g. /nix/store for /nix/store/abc-foo. */
export function storeDirOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i > 0 ? path.slice(0, i) : '/';
}

/** nixpkgs auto-layer's path key: the name part, then the hash part. */
export function nameThenHash(a: string, b: string): number {
  const i = a.indexOf('-');
  const j = b.indexOf('-');
  const an = i < 0 ? '' : a.slice(i + 1);
  const bn = j < 0 ? '' : b.slice(j + 1);
  if (an !== bn) return an < bn ? -1 : 1;
  const ah = i < 0 ? a : a.slice(0, i);
  const bh = j < 0 ? b : b.slice(0, j);
  return ah < bh ? -1 : ah > bh ? 1 : 0;
}
