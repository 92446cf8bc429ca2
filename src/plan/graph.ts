import { StrataError } from '../errors.js';
import type { Closure } from '../closure/types.js';

/** A closure as index arrays: children (references without self) and parents. */
export interface Indexed {
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
