import type { Closure } from '../closure/types.js';
import { limitLayers } from './limit.js';

/**
 * Guix `guix pack -f docker --max-layers N`: store items sorted by size,
 * largest first; N-2 of them get a layer each and the rest share one. Guix's
 * N counts the customisation layer too, as strata's --max-layers does, so
 * with `n` store layers (--max-layers minus 1, minus base layers) the n-1
 * largest paths get a layer each, bottom first, and the rest one layer on top.
 * Ties of size are broken by store path, so the plan never depends on input order.
 */
export function sizeLayers(closure: Closure, n: number): string[][] {
  const order = [...closure.paths]
    .sort((a, b) => b.narSize - a.narSize || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
    .map((p) => p.path);
  return limitLayers(order, n);
}
