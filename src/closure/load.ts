import { StrataError } from '../errors.js';
import { readGraphFile } from './graph-file.js';
import { queryGuixClosure } from './guix.js';
import { queryNixClosure } from './nix.js';
import type { Closure } from './types.js';

/** The stores strata asks for a closure: a new kind of store is a module and a line here. */
const STORES = {
  nix: queryNixClosure,
  guix: queryGuixClosure,
} satisfies Record<string, (roots: string[], storeDir?: string) => Promise<Closure>>;

export interface ClosureSource {
  /** Store paths (or links to them) whose closure the store is asked for. */
  roots?: string[];
  /** A reference graph file to read instead of asking the store. */
  graph?: string;
  graphKey?: string;
  storeDir?: string;
  /** Which store to ask for the closure of `roots` (default nix). */
  store?: keyof typeof STORES;
  warn?: (message: string) => void;
}

/** A closure from the store or from a graph file; every path lies in the store directory. */
export async function loadClosure(source: ClosureSource): Promise<Closure> {
  const roots = source.roots ?? [];
  if (source.graph !== undefined && roots.length > 0) throw new StrataError('give store paths or --graph FILE, not both');
  const closure =
    source.graph !== undefined
      ? await readGraphFile(source.graph, { key: source.graphKey, storeDir: source.storeDir, warn: source.warn })
      : await STORES[source.store ?? 'nix'](roots, source.storeDir);
  const outside = closure.paths.find((p) => !p.path.startsWith(closure.storeDir + '/'));
  if (outside) {
    throw new StrataError(`${outside.path} is outside the store directory ${closure.storeDir}; pass --store-dir to name the store`);
  }
  return closure;
}
