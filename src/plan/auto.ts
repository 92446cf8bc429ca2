import type { Closure } from '../closure/types.js';
import { indexClosure, reach } from '../closure/graph.js';
import { nameThenHash } from '../closure/store-path.js';

/**
 * The semantics of nixpkgs' auto-layer.py. Paths are taken largest first
 * (ties: the later path of the closure's sorted order first, as Python's
 * stable sort and pop() take them) and each becomes a "primary". Every path
 * is labelled with a set of primaries: a new primary P gets {P}; each
 * dependency D of P loses the primaries that depend on P, and gains P unless
 * its set still holds a primary that P depends on. Paths with the same set
 * form a layer. A primary that would make more than `limit` layers is not
 * taken, and the search stops. Layers are ordered by the size of their
 * closure, smallest first (ties: their first path), paths in a layer by name
 * then hash.
 *
 * Primary sets are bit masks (BigInt) and layer counts are kept incrementally,
 * so each step costs the size of P's dependencies and dependents.
 */
export function autoLayers(closure: Closure, limit: number): string[][] {
  const g = indexClosure(closure);
  const n = g.names.length;
  if (n === 0) return [];
  const bySize = g.names.map((_, i) => i).sort((a, b) => g.sizes[b]! - g.sizes[a]! || b - a);
  const split: bigint[] = new Array(n).fill(0n);
  const bit: bigint[] = new Array(n).fill(0n);
  const counts = new Map<bigint, number>([[0n, n]]);
  const seen = new Uint8Array(n);
  const move = (from: bigint, to: bigint): void => {
    const c = counts.get(from)! - 1;
    if (c === 0) counts.delete(from);
    else counts.set(from, c);
    counts.set(to, (counts.get(to) ?? 0) + 1);
  };
  let k = 0;
  for (const p of bySize) {
    const b = 1n << BigInt(k);
    seen.fill(0);
    const deps = reach([p], g.children, seen, 1);
    const users = reach([p], g.parents, seen, 2);
    let usersMask = 0n;
    for (const u of users) usersMask |= bit[u]!;
    let depsMask = 0n;
    for (const d of deps) depsMask |= bit[d]!;
    const changes: [number, bigint][] = [[p, b]];
    for (const d of deps) {
      let v = split[d]! & ~usersMask;
      if ((v & depsMask) === 0n) v |= b;
      if (v !== split[d]) changes.push([d, v]);
    }
    for (const [i, v] of changes) move(split[i]!, v);
    if (counts.size > limit) {
      for (let j = changes.length - 1; j >= 0; j--) move(changes[j]![1], split[changes[j]![0]]!);
      break;
    }
    for (const [i, v] of changes) split[i] = v;
    bit[p] = b;
    k++;
  }
  const groups = new Map<bigint, number[]>();
  for (let i = 0; i < n; i++) {
    const list = groups.get(split[i]!);
    if (list) list.push(i);
    else groups.set(split[i]!, [i]);
  }
  const layers = [...groups.values()].map((members) => {
    seen.fill(0);
    for (const m of members) seen[m] = 1;
    let closureSize = 0;
    for (const m of members) closureSize += g.sizes[m]!;
    for (const d of reach(members, g.children, seen, 1)) closureSize += g.sizes[d]!;
    const paths = members.map((m) => g.names[m]!).sort(nameThenHash);
    return { paths, closureSize };
  });
  layers.sort((a, b) => a.closureSize - b.closureSize || nameThenHash(a.paths[0]!, b.paths[0]!));
  return layers.map((l) => l.paths);
}
