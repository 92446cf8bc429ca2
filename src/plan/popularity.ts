import { StrataError } from '../errors.js';
import { indexClosure } from '../closure/graph.js';
import type { Closure } from '../closure/types.js';
import { compareCodePoints } from '../util/compare.js';

/**
 * nixpkgs' popularity contest (references-by-popularity/closure-graph.py):
 * roots are the paths no other path references; a path's popularity is the
 * sum, over itself and every path that reaches it, of the number of routes
 * from the roots to that path (A=1 B=2 C=3 D=4 E=5 F=9 G=2 on its example).
 * Paths are ordered by popularity, most popular first; ties by the name part
 * of the path, then its hash ("name-version-/nix/store/hash").
 */
export function popularityOrder(closure: Closure): string[] {
  const graph = indexGraph(closure);
  const pop = popularity(graph);
  const keyed = graph.names.map((path, i) => ({ path, pop: pop[i]!, key: tieKey(path) }));
  const reached = keyed.filter((k) => k.pop !== 0n && k.pop !== 0);
  const unreached = keyed.filter((k) => k.pop === 0n || k.pop === 0).map((k) => k.path);
  reached.sort((a, b) => (a.pop === b.pop ? compareCodePoints(a.key, b.key) : a.pop > b.pop ? -1 : 1));
  return [...reached.map((k) => k.path), ...unreached.sort(compareCodePoints)];
}

/** Each path's popularity, as popularityOrder ranks them (rounded when beyond 2^53). */
export function popularityScores(closure: Closure): Map<string, number> {
  const graph = indexGraph(closure);
  const pop = popularity(graph);
  return new Map(graph.names.map((path, i) => [path, Number(pop[i]!)]));
}

/** nixpkgs' tie key: the first `-`-separated piece moved to the end. */
export function tieKey(path: string): string {
  const parts = path.split('-');
  return [...parts.slice(1), parts[0]].join('-');
}

interface IndexedGraph {
  names: string[];
  /** Children (references without self references) by index. */
  children: Int32Array[];
  /** Indices in topological order, parents before children. */
  topo: Int32Array;
  roots: number[];
}

function indexGraph(closure: Closure): IndexedGraph {
  const g = indexClosure(closure);
  const names = g.names;
  const children = g.children.map((kids) => Int32Array.from(kids));
  const indegree = Int32Array.from(g.parents, (p) => p.length);
  const roots = names.map((_, i) => i).filter((i) => indegree[i] === 0);
  const topo = new Int32Array(names.length);
  let head = 0;
  let tail = 0;
  for (const r of roots) topo[tail++] = r;
  const remaining = Int32Array.from(indegree);
  while (head < tail) {
    for (const c of children[topo[head++]!]!) if (--remaining[c] === 0) topo[tail++] = c;
  }
  if (tail !== names.length) {
    const stuck = names.find((_, i) => remaining[i]! > 0);
    throw new StrataError(`the reference graph has a cycle through ${stuck}; store graphs are acyclic apart from self references`);
  }
  return { names, children, topo, roots };
}

/**
 * popularity(x) = sum of routes(y) over y in ancestors-or-self(x). Ancestor
 * sets are propagated 32 sources at a time as bit masks along the topological
 * order, so memory stays linear in the graph.
 */
function popularity(g: IndexedGraph): (number | bigint)[] {
  const n = g.names.length;
  const routes: bigint[] = new Array(n).fill(0n);
  for (const r of g.roots) routes[r] = 1n;
  for (const v of g.topo) for (const c of g.children[v]!) routes[c]! += routes[v]!;
  const total = routes.reduce((a, b) => a + b, 0n);
  // Exact in doubles while every sum stays below 2^53; BigInt beyond.
  const exact = total <= BigInt(Number.MAX_SAFE_INTEGER);
  const pop: (number | bigint)[] = new Array(n).fill(exact ? 0 : 0n);
  const mask = new Int32Array(n);
  for (let start = 0; start < n; start += 32) {
    const block = g.topo.subarray(start, Math.min(start + 32, n));
    mask.fill(0);
    block.forEach((v, bit) => (mask[v] = 1 << bit));
    // Sums of routes for each byte value of each mask byte.
    const tables = [0, 1, 2, 3].map((byte) => {
      const t: (number | bigint)[] = new Array(256).fill(exact ? 0 : 0n);
      for (let value = 1; value < 256; value++) {
        const low = value & -value;
        const bit = byte * 8 + 31 - Math.clz32(low);
        const rest = t[value ^ low]!;
        const add = bit < block.length ? routes[block[bit]!]! : 0n;
        t[value] = exact ? (rest as number) + Number(add) : (rest as bigint) + add;
      }
      return t;
    });
    for (let i = start; i < n; i++) {
      const v = g.topo[i]!;
      const m = mask[v]!;
      if (m === 0) continue;
      for (const c of g.children[v]!) mask[c]! |= m;
      let sum: number | bigint = exact ? 0 : 0n;
      for (let byte = 0; byte < 4; byte++) {
        const part = tables[byte]![(m >>> (byte * 8)) & 0xff]!;
        sum = exact ? (sum as number) + (part as number) : (sum as bigint) + (part as bigint);
      }
      pop[v] = exact ? (pop[v] as number) + (sum as number) : (pop[v] as bigint) + (sum as bigint);
    }
  }
  return pop;
}
