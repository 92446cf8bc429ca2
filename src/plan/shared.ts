import type { Closure } from '../closure/types.js';
import { autoLayers } from './auto.js';
import { indexClosure } from './graph.js';
import { sizeLayers } from './size.js';

/**
 * strata's own strategy, for n store layers:
 *
 * 1. The top-level paths (those no other path of the closure references: the
 *    application) get the top layer to themselves, so an application release
 *    re-ships only them.
 * 2. The floor((n-1)/2) largest of the other paths get a layer each (as Guix
 *    does): a layer holding one path is identical in every image holding it.
 * 3. The rest is grouped as nixpkgs' auto-layer does, in the layers left: the
 *    largest paths become primaries with the dependencies only they use, and
 *    dependencies shared by several primaries are grouped by the set of
 *    primaries using them, so a library update re-ships only the groups
 *    below it instead of one catch-all layer.
 *
 * Each image is planned alone; deterministic; with n = 1 everything is one layer.
 */
export function sharedLayers(closure: Closure, n: number): string[][] {
  if (closure.paths.length === 0) return [];
  if (n <= 1) return [closure.paths.map((p) => p.path)];
  const g = indexClosure(closure);
  const top = g.names.filter((_, i) => g.parents[i]!.length === 0);
  const below = without(closure, new Set(top));
  if (below.paths.length === 0) return [top];
  const singles = Math.floor((n - 1) / 2);
  const big = singles === 0 ? [] : sizeLayers(below, singles + 1).slice(0, singles);
  const rest = without(below, new Set(big.flat()));
  const grouped = rest.paths.length === 0 ? [] : autoLayers(rest, n - 1 - big.length);
  return [...big, ...grouped, top];
}

/** The closure less some paths, references to them dropped. */
function without(closure: Closure, gone: Set<string>): Closure {
  if (gone.size === 0) return closure;
  return {
    storeDir: closure.storeDir,
    paths: closure.paths.filter((p) => !gone.has(p.path)).map((p) => ({ ...p, references: p.references.filter((r) => !gone.has(r)) })),
  };
}
