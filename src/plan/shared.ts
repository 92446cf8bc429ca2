import type { Closure } from '../closure/types.js';
import { indexClosure } from '../closure/graph.js';
import { nameThenHash } from '../closure/store-path.js';

/**
 * strata's own strategy, for n store layers. It keeps what updates re-ship
 * small. When a library changes, it and every path depending on it get new
 * hashes, and a layer holding any of them is pulled again whole. Of a layer
 * S, an unchanged path s is re-pulled for each library in the closure of S
 * but not in s's own closure, so S costs
 *
 *   sum over s in S of size(s) * |closure(S) \ closure(s)|
 *
 * (nothing for a path alone; little for paths whose closures nearly match,
 * such as a chain of paths each used only by the next), plus, for a layer of
 * several paths, SHARING times its bytes: such a layer is less likely to be
 * cut the same way in other images, and then its bytes are stored twice.
 *
 * 1. The top-level paths (the application) get the top layer alone, so an
 *    application release re-ships only them.
 * 2. The other paths, in depth-first post-order from the top (a path right
 *    after the dependencies it brings, dependencies in name order), are cut
 *    into the cheapest WIDEN * (n-1) runs (dynamic programming), the two
 *    groups whose union costs least are merged until n-1 are left, and then
 *    single paths move to the group where they cost least while that helps.
 *    Closures beyond EXACT_UNITS paths are first cut into about BLOCKS
 *    blocks of similar bytes (a large path a block alone), planned as units.
 * 3. Tiny units (under TINY bytes), when the others fill the layers, take
 *    no part in step 2; each then joins the group where it adds least,
 *    judged against the groups of step 2 alone. Step 2 is a search that one
 *    changed input can send elsewhere; this way a new tiny dependency of the
 *    application changes one layer, not most. Paths under UNCOUNTED bytes do
 *    not count as libraries either (they hardly change on their own), so one
 *    added under a library changes one layer too. A new dependency above
 *    these sizes can still move many layers.
 *
 * The plan depends on the graph, sizes and names, never on hash parts (which
 * updates change), so paths that do not change stay in identical layers.
 * Deterministic; each image planned alone; with n = 1 everything is one layer.
 */
const SHARING = 10;
const WIDEN = 4;
const PASSES = 8;
/** Closures up to EXACT_UNITS paths are planned path by path, bigger ones in BLOCKS blocks. */
const EXACT_UNITS = 400;
const BLOCKS = 150;
/** Paths under TINY bytes join the groups after the cut (step 3). */
const TINY = 64 * 1024;
/** Paths under UNCOUNTED bytes do not count as libraries in closures. */
const UNCOUNTED = 16 * 1024;

export function sharedLayers(closure: Closure, n: number): string[][] {
  if (closure.paths.length === 0) return [];
  if (n <= 1) return [closure.paths.map((p) => p.path)];
  const g = indexClosure(closure);
  const byName = (a: number, b: number): number => nameThenHash(g.names[a]!, g.names[b]!);
  const tops = g.names.map((_, i) => i).filter((i) => g.parents[i]!.length === 0).sort(byName);
  const top = tops.map((t) => g.names[t]!);
  const order = postOrder(tops, g.children.map((c) => [...c].sort(byName)));
  if (order.length === 0) return [top];
  const units = unitsOf(order, g.children, g.sizes);
  const all = units.members.map((_, u) => u);
  const tiny = all.filter((u) => units.size[u]! < TINY);
  // Too few other units to fill the layers: every unit takes part in the cut.
  const setAside = all.length - tiny.length >= n - 1;
  const groups = cheapestGroups(units, n - 1, setAside ? all.filter((u) => units.size[u]! >= TINY) : all);
  if (setAside) attachTiny(tiny, groups, units);
  return [...groups.map((group) => group.sort((a, b) => a - b).flatMap((u) => units.members[u]!).map((v) => g.names[v]!)), top];
}

/** Paths below the tops, each after its dependencies. */
function postOrder(tops: number[], kids: number[][]): number[] {
  const order: number[] = [];
  const seen = new Uint8Array(kids.length);
  for (const t of tops) seen[t] = 1;
  for (const t of tops) {
    const stack: [number, number][] = [[t, 0]];
    while (stack.length) {
      const frame = stack[stack.length - 1]!;
      const c = kids[frame[0]]!;
      if (frame[1] < c.length) {
        const w = c[frame[1]++]!;
        if (!seen[w]) {
          seen[w] = 1;
          stack.push([w, 0]);
        }
        continue;
      }
      stack.pop();
      if (stack.length) order.push(frame[0]);
    }
  }
  return order;
}

/** What is grouped: paths, or for big closures blocks of consecutive paths. */
interface Units {
  /** Paths of each unit, in post-order; units in post-order too. */
  members: number[][];
  size: number[];
  /** Paths per unit. */
  count: number[];
  /** Paths per unit counted as libraries (UNCOUNTED bytes or more), the weight of a unit in a closure count. */
  libs: number[];
  /** Each unit's closure over units, `words` 32-bit words a unit. */
  bits: Uint32Array;
  words: number;
}

function unitsOf(order: number[], children: number[][], sizes: number[]): Units {
  let members: number[][];
  if (order.length <= EXACT_UNITS) members = order.map((v) => [v]);
  else {
    const target = order.reduce((s, v) => s + sizes[v]!, 0) / BLOCKS;
    members = [];
    let block: number[] = [];
    let bytes = 0;
    for (const v of order) {
      if (sizes[v]! >= target) {
        if (block.length) members.push(block);
        members.push([v]);
        block = [];
        bytes = 0;
        continue;
      }
      block.push(v);
      bytes += sizes[v]!;
      if (bytes >= target) {
        members.push(block);
        block = [];
        bytes = 0;
      }
    }
    if (block.length) members.push(block);
  }
  const unitOf = new Map<number, number>();
  members.forEach((m, u) => m.forEach((v) => unitOf.set(v, u)));
  const words = (members.length + 31) >>> 5;
  const bits = new Uint32Array(members.length * words);
  // dependencies come first in post-order, so their closures are complete when read
  members.forEach((m, u) => {
    bits[u * words + (u >>> 5)] |= 1 << (u & 31);
    for (const v of m) {
      for (const c of children[v]!) {
        const d = unitOf.get(c);
        if (d === undefined || d === u) continue;
        for (let w = 0; w < words; w++) bits[u * words + w] |= bits[d * words + w]!;
      }
    }
  });
  return {
    members,
    size: members.map((m) => m.reduce((s, v) => s + sizes[v]!, 0)),
    count: members.map((m) => m.length),
    libs: members.map((m) => m.filter((v) => sizes[v]! >= UNCOUNTED).length),
    bits,
    words,
  };
}

/** Libraries in the units set in `set` (a closure). */
function weightOf(units: Units, set: Uint32Array, from = 0): number {
  let s = 0;
  for (let w = 0; w < units.words; w++) {
    let x = set[from + w]!;
    while (x) {
      const b = 31 - Math.clz32(x & -x);
      s += units.libs[w * 32 + b]!;
      x &= x - 1;
    }
  }
  return s;
}

/**
 * Each tiny unit into the group where it adds least to the cost, judged
 * against the groups as cut (not as other tiny units left them), so that
 * one tiny path more or less changes one layer only.
 */
function attachTiny(tiny: number[], groups: number[][], units: Units): void {
  const { words, bits, size } = units;
  const state = groups.map((group) => {
    const cl = new Uint32Array(words);
    for (const u of group) for (let w = 0; w < words; w++) cl[w] |= bits[u * words + w]!;
    return { cl, bytes: group.reduce((s, u) => s + size[u]!, 0), alone: group.reduce((s, u) => s + units.count[u]!, 0) === 1, union: weightOf(units, cl) };
  });
  const both = new Uint32Array(words);
  const into = tiny.map((t) => {
    const own = weightOf(units, bits, t * words);
    let best = 0;
    let bestCost = Infinity;
    state.forEach((s, i) => {
      for (let w = 0; w < words; w++) both[w] = s.cl[w]! | bits[t * words + w]!;
      const c = (s.bytes + size[t]!) * weightOf(units, both) - s.bytes * s.union - size[t]! * own + SHARING * (size[t]! + (s.alone ? s.bytes : 0));
      if (c < bestCost) {
        bestCost = c;
        best = i;
      }
    });
    return best;
  });
  tiny.forEach((t, i) => groups[into[i]!]!.push(t));
}

/** Groups of the units `main` (at most k), each in post-order, groups ordered by their first unit. */
function cheapestGroups(units: Units, k: number, main: number[]): number[][] {
  const total = main.length;
  if (total <= k) return main.map((u) => [u]);
  const { bits, words, size, count } = units;
  const own = size.map((s, u) => s * weightOf(units, bits, u * words));
  const cost = (group: number[]): number => {
    const cl = new Uint32Array(words);
    let bytes = 0;
    let owned = 0;
    let paths = 0;
    for (const u of group) {
      for (let w = 0; w < words; w++) cl[w] |= bits[u * words + w]!;
      bytes += size[u]!;
      owned += own[u]!;
      paths += count[u]!;
    }
    return bytes * weightOf(units, cl) - owned + (paths > 1 ? SHARING * bytes : 0);
  };

  // 1. The cheapest cut of the post-order into `runs` runs.
  const runs = Math.min(total, WIDEN * k);
  const table = new Float64Array(total * total);
  const acc = new Uint32Array(words);
  const one = new Uint32Array(words);
  for (let i = 0; i < total; i++) {
    acc.fill(0);
    let union = 0;
    let bytes = 0;
    let owned = 0;
    let paths = 0;
    for (let j = i; j < total; j++) {
      one.fill(0);
      let added = false;
      for (let w = 0; w < words; w++) {
        const add = bits[main[j]! * words + w]! & ~acc[w]!;
        one[w] = add;
        acc[w] |= add;
        if (add) added = true;
      }
      if (added) union += weightOf(units, one);
      bytes += size[main[j]!]!;
      owned += own[main[j]!]!;
      paths += count[main[j]!]!;
      table[i * total + j] = bytes * union - owned + (paths > 1 ? SHARING * bytes : 0);
    }
  }
  let best = Float64Array.from({ length: total }, (_, j) => table[j]!);
  const starts: Int32Array[] = [new Int32Array(total)];
  for (let t = 1; t < runs; t++) {
    const next = new Float64Array(total).fill(Infinity);
    const start = new Int32Array(total);
    for (let j = t; j < total; j++) {
      for (let i = t; i <= j; i++) {
        const c = best[i - 1]! + table[i * total + j]!;
        if (c < next[j]!) {
          next[j] = c;
          start[j] = i;
        }
      }
    }
    best = next;
    starts.push(start);
  }
  const groups: number[][] = [];
  for (let t = runs - 1, end = total - 1; t >= 0; t--) {
    const i = t === 0 ? 0 : starts[t]![end]!;
    groups.unshift(main.slice(i, end + 1));
    end = i - 1;
  }

  // 2. Merge the pair whose union costs least over its parts, down to k groups
  // (union costs kept, and only the merged group's recomputed).
  const costs = groups.map(cost);
  const pair: number[][] = groups.map((x, i) => groups.map((y, j) => (j > i ? cost([...x, ...y]) : 0)));
  while (groups.length > k) {
    let bi = 0;
    let bj = 1;
    let bd = Infinity;
    for (let i = 0; i < groups.length; i++) {
      for (let j = i + 1; j < groups.length; j++) {
        const d = pair[i]![j]! - costs[i]! - costs[j]!;
        if (d < bd) {
          bd = d;
          bi = i;
          bj = j;
        }
      }
    }
    groups[bi] = [...groups[bi]!, ...groups[bj]!].sort((a, b) => a - b);
    costs[bi] = pair[bi]![bj]!;
    groups.splice(bj, 1);
    costs.splice(bj, 1);
    pair.splice(bj, 1);
    for (const row of pair) row.splice(bj, 1);
    for (let j = 0; j < groups.length; j++) {
      if (j === bi) continue;
      const c = cost([...groups[bi]!, ...groups[j]!]);
      if (j > bi) pair[bi]![j] = c;
      else pair[j]![bi] = c;
    }
  }

  // 3. Move single units to the group where they cost least, while that lowers the total.
  const closures = groups.map((group) => {
    const cl = new Uint32Array(words);
    for (const u of group) for (let w = 0; w < words; w++) cl[w] |= bits[u * words + w]!;
    return cl;
  });
  const withUnit = new Uint32Array(words);
  for (let pass = 0; pass < PASSES; pass++) {
    let moved = false;
    for (let a = 0; a < groups.length; a++) {
      for (const u of [...groups[a]!]) {
        if (groups[a]!.length === 1) break;
        const rest = groups[a]!.filter((x) => x !== u);
        const restCost = cost(rest);
        let to = -1;
        let gain = 0;
        let toCost = 0;
        for (let b = 0; b < groups.length; b++) {
          if (b === a) continue;
          // the cost of groups[b] with u, from its kept closure
          const cl = closures[b]!;
          for (let w = 0; w < words; w++) withUnit[w] = cl[w]! | bits[u * words + w]!;
          let bytes = size[u]!;
          let owned = own[u]!;
          let paths = count[u]!;
          for (const x of groups[b]!) {
            bytes += size[x]!;
            owned += own[x]!;
            paths += count[x]!;
          }
          const c = bytes * weightOf(units, withUnit) - owned + (paths > 1 ? SHARING * bytes : 0);
          const d = costs[a]! + costs[b]! - restCost - c;
          if (d > gain) {
            gain = d;
            to = b;
            toCost = c;
          }
        }
        if (to < 0) continue;
        groups[a] = rest;
        costs[a] = restCost;
        closures[a]!.fill(0);
        for (const x of rest) for (let w = 0; w < words; w++) closures[a]![w] |= bits[x * words + w]!;
        groups[to] = [...groups[to]!, u].sort((x, y) => x - y);
        costs[to] = toCost;
        for (let w = 0; w < words; w++) closures[to]![w] |= bits[u * words + w]!;
        moved = true;
      }
    }
    if (!moved) break;
  }
  return groups.sort((x, y) => x[0]! - y[0]!);
}
