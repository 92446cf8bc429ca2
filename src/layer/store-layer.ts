import { lstatSync, readdirSync } from 'node:fs';
import { ExitCode, StrataError } from '../errors.js';
import { firstFew } from '../util/text.js';
import { decodeName, fsName } from '../util/surrogateescape.js';
import type { Layer } from '../model/image.js';
import { sha256Hex } from '../model/digest.js';
import { TarType, tarHeader } from '../tar/header.js';
import { type Member, type WalkedTar, packMembers, tarSize, walkedTar } from '../tar/members.js';
import { type EntryAttributes, type EntryStat, FileFingerprints, KeptEntries, type WalkedEntry, entryHeader, walk } from '../tar/tree-walk.js';
import { layerKeyOf, pathContent } from './key.js';
import { type LayerPerms, type Perms, pathlibForm } from './perms.js';

/**
 * A layer holding store paths, as nixpkgs' streaming script writes it: the
 * store directory and its parents first (mode 0755; the script writes /nix
 * and /nix/store whatever the store), then each path and
 * everything under it in pathlib order; every entry gets `attrs`, then
 * what the `perms` rules for its paths set. Its key comes from the paths'
 * NAR hashes (`narHashes`, by store path) where known.
 */
export function storeLayer(paths: string[], storeDir: string, attrs: EntryAttributes, perms?: Perms, narHashes?: ReadonlyMap<string, string>): StoreLayer {
  const roots = paths.map((p) => storeRoot(p, storeDir));
  const fingerprints = new FileFingerprints();
  const rules = perms?.forLayer(roots);
  const members = (entries: Iterable<{ path: string; stat: EntryStat }> = walkAll(roots)) => storeLayerMembers(entries, storeDir, attrs, rules);
  // A walk done ahead of the first read, taken by that read.
  let ahead: KeptEntries | undefined;
  const firstRead = (): Iterable<Member> => {
    const kept = ahead;
    ahead = undefined;
    // A layer already read (hashed here or in a worker) is walked again, so
    // that read checks this one against it: a file added since shows.
    return members(kept && !fingerprints.read() ? kept.entries() : undefined);
  };
  return {
    contents: paths,
    fingerprints,
    open: () => packMembers(firstRead(), fingerprints),
    tarSize: () => tarSize(members(), fingerprints),
    walk: () => walkedTar(firstRead()),
    walkAhead: (see, keep) => {
      // Entries alone, no headers: those are made when the layer is read.
      let kept: KeptEntries | undefined = keep > 0 ? new KeptEntries() : undefined;
      // Members, counting the store directory's parents, which the read adds.
      const parents = storeDirParents(storeDir).length;
      for (const entry of walkAll(roots)) {
        see(entry);
        kept?.add(entry);
        if (kept && kept.length + parents > keep) kept = undefined;
      }
      ahead = kept;
      return kept ? kept.length + parents : 0;
    },
    // Rules are objects a worker thread cannot receive; such layers are hashed here.
    ...(rules ? {} : { recipe: { kind: 'store' as const, args: [paths, storeDir, attrs] as [string[], string, EntryAttributes] } }),
    cacheKey: () => JSON.stringify({ layer: 'store/1', storeDir, roots, attrs, identity: roots.map(identity), perms: rules?.key }),
    inputKey: () => sha256Hex(JSON.stringify({ layer: 'store/1', storeDir, roots, attrs, perms: rules?.key })),
    key: layerKeyOf({ kind: 'store', storeDir, attrs, perms: rules?.key ?? null, paths: roots.map((r, i) => [r, pathContent(r, narHashes?.get(paths[i]!) ?? narHashes?.get(r))]) }),
  };
}

/** A conf's store path as the layer's root (pathlib's spelling); one outside the store directory is refused. */
function storeRoot(path: string, storeDir: string): string {
  // Most paths are spelled as pathlib spells them already.
  const normal = path.startsWith('/') && !/\/\/|\/\.(\/|$)|\/$/.test(path) ? path : pathlibForm(path);
  if (!normal.startsWith(storeDir + '/') || (normal.includes('..') && normal.split('/').includes('..'))) {
    throw new StrataError(`store path '${path}' is not inside the store directory ${storeDir}; fix the conf's store_layers or its store_dir`);
  }
  return normal;
}

/**
 * Refuse store layers naming a path outside the store directory (bad input)
 * or not on this machine (integrity, as a walk finding it gone), all paths
 * checked at once and before anything is read or written.
 */
export function checkStorePaths(layers: readonly string[][], storeDir: string): void {
  let count = 0;
  for (const paths of layers) count += paths.length;
  // Many paths: one listing of the store directory costs less than an lstat each.
  const listing = count > 256 ? storeListing(storeDir) : undefined;
  const start = storeDir.length + 1;
  const missing: string[] = [];
  for (const paths of layers) {
    for (const p of paths) {
      const root = storeRoot(p, storeDir);
      const slash = root.indexOf('/', start);
      if (listing && !listing.has(slash < 0 ? root.slice(start) : root.slice(start, slash))) missing.push(p);
      else if ((!listing || slash >= 0) && !lstatSync(fsName(root), { throwIfNoEntry: false })) missing.push(p);
    }
  }
  if (missing.length > 0) {
    throw new StrataError(`${firstFew(missing)}: no such file; is the store path on this machine (nix-store --realise it)?`, ExitCode.Integrity);
  }
}

/** The names in the store directory, or undefined when it cannot be listed (each path is then looked up alone). */
function storeListing(storeDir: string): Set<string> | undefined {
  try {
    return new Set(readdirSync(fsName(storeDir), { encoding: 'buffer' }).map(decodeName));
  } catch {
    return undefined;
  }
}

/** Which file a root is now: a path rebuilt in place gets a new inode and ctime. */
export function identity(path: string): string {
  try {
    const st = lstatSync(path);
    return `${st.ino}:${st.ctimeMs}`;
  } catch {
    return 'missing';
  }
}

function storeDirParents(storeDir: string): string[] {
  const parts = storeDir.split('/').filter(Boolean);
  return parts.map((_, i) => '/' + parts.slice(0, i + 1).join('/'));
}

/**
 * A layer whose tar length is known from a walk of its files' metadata
 * (lstat and readlink, no reads). tarSize's walk counts as a read for the
 * fingerprints: a file changed between it and a read stops that read.
 * walk() keeps what it walked, so the bytes follow without a second walk.
 */
export type SizedLayer = Layer & { tarSize(): number; walk(): WalkedTar; inputKey(): string };

/** A layer of store paths, which can be walked before it is read. */
export type StoreLayer = SizedLayer & {
  /**
   * Walk the layer now, showing `see` each entry (path and lstat); the
   * layer's first read (walk() or open()) then takes this walk instead of
   * walking again, unless it has more than `keep` members. Returns how many
   * members were kept (0: none).
   */
  walkAhead(see: (entry: WalkedEntry) => void, keep: number): number;
};

/** Whether `layer` holds store paths (and can be walked ahead). */
export function isStoreLayer(layer: Layer): layer is StoreLayer {
  return 'walkAhead' in layer;
}

function* walkAll(roots: string[]): Generator<WalkedEntry> {
  for (const root of roots) yield* walk(root);
}

function* storeLayerMembers(entries: Iterable<{ path: string; stat: EntryStat }>, storeDir: string, attrs: EntryAttributes, rules?: LayerPerms): Generator<Member> {
  for (const dir of storeDirParents(storeDir)) yield { header: tarHeader({ name: dir, type: TarType.Directory, mode: 0o755, ...attrs }) };
  for (const entry of entries) {
    const header = entryHeader(entry.path, entry, attrs);
    yield { header: rules ? rules.apply(header, entry.path, entry.path) : header, entry };
  }
}
