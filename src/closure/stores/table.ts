import { StrataError } from '../../errors.js';
import type { Closure, StoreKind } from '../types.js';

/**
 * The kinds of store strata reads a closure from, each a folder beside
 * this table: a new kind is a folder and a line here. Each is loaded when
 * asked, so a run loads only the one it reads.
 */
const STORES = {
  nix: async () => (await import('./nix/nix-store.js')).nixStore,
  guix: async () => (await import('./guix/guix-gc.js')).guixStore,
  'graph-file': async () => (await import('./graph-file/graph-file.js')).graphFileStore,
} satisfies Record<string, () => Promise<StoreKind>>;

export interface ClosureSource {
  /** Store paths (or links to them) whose closure the store is asked for. */
  roots?: string[];
  /** A reference graph file to read instead of asking the store. */
  graph?: string;
  graphKey?: string;
  storeDir?: string;
  /** Which store to ask for the closure of `roots` (default nix); a graph file is read by the graph-file kind. */
  store?: Exclude<keyof typeof STORES, 'graph-file'>;
  warn?: (message: string) => void;
}

/** A closure from the store or from a graph file; every path lies in the store directory. */
export async function loadClosure(source: ClosureSource): Promise<Closure> {
  const roots = source.roots ?? [];
  if (source.graph !== undefined && roots.length > 0) throw new StrataError('give store paths or --graph FILE, not both');
  const kind = source.graph !== undefined ? 'graph-file' : source.store ?? 'nix';
  const closure = await (await STORES[kind]()).closure({ ...source, roots });
  const outside = closure.paths.find((p) => !p.path.startsWith(closure.storeDir + '/'));
  if (outside) {
    throw new StrataError(`${outside.path} is outside the store directory ${closure.storeDir}; pass --store-dir to name the store`);
  }
  return closure;
}
