import { StrataError } from '../errors.js';
import type { Closure, StorePathInfo } from './types.js';

// Indexing and walking a closure's reference graph.

/** A closure's paths by name. */
export function byPath(closure: Closure): Map<string, StorePathInfo> {
  return new Map(closure.paths.map((p) => [p.path, p]));
}

/** Each path's referrers: the paths that reference it (self references left out). */
export function referrers(closure: Closure): Map<string, string[]> {
  const parents = new Map<string, string[]>();
  for (const p of closure.paths) for (const r of p.references) if (r !== p.path) (parents.get(r) ?? parents.set(r, []).get(r)!).push(p.path);
  return parents;
}

/**
 * Every node reachable from `start` (itself included) along `next`, depth
 * first; nodes in `skip` are neither taken nor followed.
 */
export function walk(start: Iterable<string>, next: (node: string) => Iterable<string> | undefined, skip?: ReadonlySet<string>): Set<string> {
  const seen = new Set<string>();
  const stack = [...start];
  while (stack.length) {
    const p = stack.pop()!;
    if (seen.has(p) || skip?.has(p)) continue;
    seen.add(p);
    for (const q of next(p) ?? []) stack.push(q);
  }
  return seen;
}

/** A closure as index arrays: children (references without self) and parents. */
interface Indexed {
  names: string[];
  sizes: number[];
  index: Map<string, number>;
  children: number[][];
  parents: number[][];
}

export function indexClosure(closure: Closure): Indexed {
  const names = closure.paths.map((p) => p.path);
  const sizes = closure.paths.map((p) => p.narSize);
  const index = new Map(names.map((n, i) => [n, i]));
  const parents: number[][] = names.map(() => []);
  const children = closure.paths.map((p, i) => {
    const kids: number[] = [];
    for (const r of new Set(p.references)) {
      if (r === p.path) continue;
      const k = index.get(r);
      if (k === undefined) throw new StrataError(`${p.path} references ${r}, which is not in the closure`);
      kids.push(k);
      parents[k]!.push(i);
    }
    return kids;
  });
  return { names, sizes, index, children, parents };
}

/** Every index reachable from `start` along `edges`, `start` excluded unless on a cycle. */
export function reach(start: number[], edges: number[][], seen: Uint8Array, mark: number): number[] {
  const out: number[] = [];
  const stack = [...start];
  while (stack.length) {
    const v = stack.pop()!;
    for (const c of edges[v]!) {
      if (seen[c] === mark) continue;
      seen[c] = mark;
      out.push(c);
      stack.push(c);
    }
  }
  return out;
}
