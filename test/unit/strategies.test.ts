import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { autoLayers, type Closure, dependents, planLayers, rehash, renamed, sharedLayers, sizeLayers, STRATEGIES } from '../../src/index.js';

const S = '/nix/store/';

/** A closure from {name: [size, references]}, sorted by path as loaders give it. */
function graph(refs: Record<string, [number, string[]]>): Closure {
  const paths = Object.entries(refs).map(([p, [size, r]]) => ({ path: S + p, narSize: size, references: [S + p, ...r.map((x) => S + x)] }));
  paths.sort((a, b) => (a.path < b.path ? -1 : 1));
  return { storeDir: '/nix/store', paths };
}
const names = (layers: string[][]): string[][] => layers.map((l) => l.map((p) => p.slice(S.length)));

// app -> libA, libB, tiny; libA, libB -> core. Hashes run against the names, so name order shows.
const small = graph({
  'z1-app': [10, ['y1-libA', 'x1-libB', 'v1-tiny']],
  'y1-libA': [50, ['w1-core']],
  'x1-libB': [40, ['w1-core']],
  'w1-core': [5, []],
  'v1-tiny': [1, []],
});

test('size: the n-1 largest paths alone, largest first, the rest in one layer', () => {
  assert.deepEqual(names(sizeLayers(small, 3)), [['y1-libA'], ['x1-libB'], ['z1-app', 'w1-core', 'v1-tiny']]);
  assert.deepEqual(names(sizeLayers(small, 1)), [['y1-libA', 'x1-libB', 'z1-app', 'w1-core', 'v1-tiny']]);
  assert.equal(sizeLayers(small, 9).length, 5);
});

test('auto: auto-layer.py semantics, hand-computed', () => {
  // libA: {libA, core}; libB: core -> {libA, libB}; app: tiny -> {app}; core -> {core}; tiny -> {tiny}.
  assert.deepEqual(names(autoLayers(small, 5)), [['v1-tiny'], ['w1-core'], ['x1-libB'], ['y1-libA'], ['z1-app']]);
  // Taking tiny would make a 5th layer: it stays with app.
  assert.deepEqual(names(autoLayers(small, 4)), [['w1-core'], ['x1-libB'], ['y1-libA'], ['z1-app', 'v1-tiny']]);
  // Taking libB would make 4 layers: libA with core (closure 55), the rest (106).
  assert.deepEqual(names(autoLayers(small, 3)), [['w1-core', 'y1-libA'], ['z1-app', 'x1-libB', 'v1-tiny']]);
  assert.deepEqual(names(autoLayers(small, 1)), [['z1-app', 'w1-core', 'y1-libA', 'x1-libB', 'v1-tiny']]);
});

// Checked against nixpkgs itself on 2026-11-24: on these generated closures,
// pkgs/build-support/docker/auto-layer.py (commit 2ff66c6905b9) and the order
// of references-by-popularity/closure-graph.py (commit 0137840114d1), run with
// Python 3.11, wrote layers and orders with these hashes. auto-layer.py lists
// layers of equal closure size in Python's set order, so auto is compared as
// the set of its layers.
test("popularity and auto: what nixpkgs' scripts make, on generated closures", () => {
  const short = (s: string): string => createHash('sha256').update(s).digest('hex').slice(0, 16);
  const asSet = (layers: string[][]): string => short(JSON.stringify(layers.map((l) => JSON.stringify(l)).sort()));
  const auto: Record<string, string[]> = {
    '60,1': ['5a84cc55fe129daf', 'a02c620951b9be03', 'dbdd771a0b99a93e', '95855a26bb246629', '43dacf2dc202e4b4'],
    '400,5': ['4b2790fbf6a0d199', 'a9051bad6e7711a9', 'f87021acb7939538', 'b2bae3e64db7c4b0', '648c172c4156c09d'],
    '2000,7': ['c6ebd0002fff0343', '9a401c46a5765c5e', '8d27fb44c4cecd1a', '6e178d93d311573a', '2f49012f14737e4f'],
  };
  const popularity: Record<string, string> = { '60,1': '3e352411bea101d2', '400,5': 'f2b431efa27ced60', '2000,7': '6a6ce8c78c5e251f' };
  for (const [key, hashes] of Object.entries(auto)) {
    const [n, seed] = key.split(',').map(Number) as [number, number];
    const closure = generated(n, seed);
    [3, 7, 15, 31, 99].forEach((limit, i) => assert.equal(asSet(autoLayers(closure, limit)), hashes[i], `auto, ${n} paths, seed ${seed}, ${limit} layers`));
    const order = planLayers(closure, { strategy: 'popularity', maxLayers: n + 1 }).layers.flatMap((l) => l.paths);
    assert.equal(short(order.join('\n')), popularity[key], `popularity order, ${n} paths, seed ${seed}`);
  }
});

// The same graph in units of 100 kB: `shared` sets paths under 64 KiB aside and
// does not count paths under 16 KiB as libraries, which would change the sums below.
const KB100 = 100_000;
const scaled = graph({
  'z1-app': [10 * KB100, ['y1-libA', 'x1-libB', 'v1-tiny']],
  'y1-libA': [50 * KB100, ['w1-core']],
  'x1-libB': [40 * KB100, ['w1-core']],
  'w1-core': [5 * KB100, []],
  'v1-tiny': [1 * KB100, []],
});

test('shared: the application alone on top, the rest cut where updates re-ship least, hand-computed', () => {
  // Post-order below app: core, libA, libB, tiny. In units of 100 kB, a group S costs
  // size(S) * |closure(S)| - sum of size(s) * |closure(s)| + 10 * size(S) when it holds several paths.
  assert.deepEqual(names(sharedLayers(scaled, 5)), [['w1-core'], ['y1-libA'], ['x1-libB'], ['v1-tiny'], ['z1-app']]);
  // Pairs: core+tiny 6*2-6+60 = 66 is the cheapest (libB+tiny 452, core+libB 455, libA+libB 990).
  assert.deepEqual(names(sharedLayers(scaled, 4)), [['w1-core', 'v1-tiny'], ['y1-libA'], ['x1-libB'], ['z1-app']]);
  // Then {core,tiny}+libB: 46*3-86+460 = 512 (+446) beats +libA: 56*3-106+560 = 622 (+556).
  assert.deepEqual(names(sharedLayers(scaled, 3)), [['w1-core', 'x1-libB', 'v1-tiny'], ['y1-libA'], ['z1-app']]);
  assert.deepEqual(names(sharedLayers(scaled, 2)), [['w1-core', 'y1-libA', 'x1-libB', 'v1-tiny'], ['z1-app']]);
  assert.deepEqual(names(sharedLayers(scaled, 1)), [['v1-tiny', 'w1-core', 'x1-libB', 'y1-libA', 'z1-app']]);
  // In bytes, every path is under 64 KiB: too few others to fill the layers, so all take part in the cut;
  // none counts as a library (under 16 KiB), so a group of several costs 10 * its bytes: core+tiny (60)
  // merge first, then libB joins them (+400; libA would add 500).
  assert.deepEqual(names(sharedLayers(small, 3)), [['w1-core', 'x1-libB', 'v1-tiny'], ['y1-libA'], ['z1-app']]);
});

test('shared: a tiny path joins, after the cut, the group where it adds least', () => {
  // wrap (1 kB) is set aside; the other four are cut as above into 3 groups. wrap brings no library
  // (under 16 KiB), so joining S adds 1 kB * |closure(S)| + 10 * 1 kB, plus 10 * size(S) if S was one
  // path: {core, tiny} (closure 2) costs 12 000 more, {libA} or {libB} over 10 * 4 MB.
  const withWrap: Closure = { storeDir: scaled.storeDir, paths: [...scaled.paths.map((p) => (p.path === S + 'z1-app' ? { ...p, references: [...p.references, S + 'u1-wrap'] } : p)), { path: S + 'u1-wrap', narSize: 1000, references: [] }].sort((a, b) => (a.path < b.path ? -1 : 1)) };
  assert.deepEqual(names(sharedLayers(withWrap, 4)), [['w1-core', 'v1-tiny', 'u1-wrap'], ['y1-libA'], ['x1-libB'], ['z1-app']]);
});

test('--layer: explicit layers first, their closure taken out of the rest', () => {
  const plan = planLayers(small, { strategy: 'size', maxLayers: 4, layers: [[S + 'x1-libB'], [S + 'y1-libA']] });
  assert.deepEqual(names(plan.layers.map((l) => l.paths)), [['w1-core', 'x1-libB'], ['y1-libA'], ['z1-app', 'v1-tiny']]);
  assert.deepEqual(plan.layers.map((l) => l.size), [45, 50, 11]);
  assert.throws(() => planLayers(small, { maxLayers: 3, layers: [[S + 'x1-libB'], [S + 'y1-libA']] }), /leave no layer/);
  assert.throws(() => planLayers(small, { maxLayers: 9, layers: [[S + 'nope']] }), /not a path of the closure/);
});

/** A deterministic synthetic closure of n paths shaped like nixpkgs ones (as bench/gen-graph.mjs). */
export function generated(n: number, seed = 1): Closure {
  let s = seed;
  const rand = (): number => (s = (s * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  const hash = (i: number): string => ((i * 2654435761) >>> 0).toString(32).padStart(32, '0').replace(/[eotu]/g, 'a');
  const paths = Array.from({ length: n }, (_, i) => `${S}${hash(i)}-pkg${i}-1.${i % 7}`);
  const list = paths.map((path, i) => {
    const refs = new Set([path]);
    const count = i === 0 ? 0 : Math.min(i, 1 + Math.floor(rand() * 8));
    for (let k = 0; k < count; k++) refs.add(paths[Math.floor(Math.pow(rand(), 3) * i)]!);
    return { path, narSize: 1000 + Math.floor(rand() * 5_000_000), references: [...refs] };
  });
  list.sort((a, b) => (a.path < b.path ? -1 : 1));
  return { storeDir: '/nix/store', paths: list };
}

test('every strategy: each path in exactly one layer, within budget, deterministic', () => {
  for (const n of [1, 2, 50, 400, 2000]) {
    const closure = generated(n, n);
    for (const strategy of STRATEGIES) {
      for (const maxLayers of [2, 3, 8, 32, 500]) {
        const plan = planLayers(closure, { strategy, maxLayers });
        const all = plan.layers.flatMap((l) => l.paths);
        assert.equal(all.length, n, `${strategy} ${n} ${maxLayers}`);
        assert.equal(new Set(all).size, n);
        assert.ok(plan.layers.length <= maxLayers - 1, `${strategy} ${n} ${maxLayers}: ${plan.layers.length} layers`);
        assert.ok(plan.layers.every((l) => l.paths.length > 0));
        assert.deepEqual(planLayers(closure, { strategy, maxLayers }), plan);
      }
    }
  }
});

test('shared: an update (new hashes for a library and its dependents) keeps every other layer identical', () => {
  const closure = generated(400, 3);
  const library = closure.paths[17]!.path;
  const changed = dependents(closure, library);
  const updated = renamed(closure, changed);
  for (const n of [3, 7, 31, 99]) {
    const before = sharedLayers(closure, n);
    const after = sharedLayers(updated, n);
    // the same layers, the changed paths under their new names
    assert.deepEqual(after.map((l) => [...l].sort()), before.map((l) => l.map((p) => (changed.has(p) ? rehash(p) : p)).sort()), `n=${n}`);
    assert.ok(before.some((l) => l.every((p) => !changed.has(p))), `n=${n}: some layer is untouched`);
  }
});

test('shared: a new tiny dependency, of the application or of a library, moves one layer', () => {
  const key = (layers: string[][]): string[] => layers.map((l) => [...l].sort().join(' '));
  for (const seed of [5, 6, 7, 8, 9]) {
    const closure = generated(400, seed);
    // pkg399 is referenced by no path (a top-level path), pkg50 by 5 to 12 (a library)
    for (const name of ['-pkg399-1.0', '-pkg50-1.1']) {
      const extra = S + '00000000000000000000000000000000-extra-1';
      const host = closure.paths.find((p) => p.path.endsWith(name))!.path;
      const grown: Closure = {
        storeDir: closure.storeDir,
        paths: [...closure.paths.map((p) => (p.path === host ? { ...p, references: [...p.references, extra] } : p)), { path: extra, narSize: 1000, references: [] }]
          .sort((a, b) => (a.path < b.path ? -1 : 1)),
      };
      for (const n of [7, 15, 31]) {
        const before = key(sharedLayers(closure, n));
        const after = key(sharedLayers(grown, n));
        const kept = after.filter((l) => before.includes(l)).length;
        // the layer extra joins changes, every other one is kept
        assert.ok(kept >= n - 1, `seed ${seed}, ${name}, n=${n}: ${kept} of ${n} layers kept`);
      }
    }
  }
});

// A closure the size of a large distribution image (planner times are bench/run.mjs's).
test('30 000 paths: every strategy puts each path in exactly one layer, within budget', () => {
  const closure = generated(30_000);
  for (const strategy of STRATEGIES) {
    const plan = planLayers(closure, { strategy, maxLayers: 100 });
    const all = plan.layers.flatMap((l) => l.paths);
    assert.equal(all.length, 30_000, strategy);
    assert.equal(new Set(all).size, 30_000, strategy);
    // auto stops at the first primary that would need more layers than the budget.
    assert.equal(plan.layers.length, strategy === 'auto' ? 79 : 99, strategy);
    assert.equal(plan.layers.reduce((sum, l) => sum + l.size, 0), closure.paths.reduce((sum, p) => sum + p.narSize, 0), strategy);
  }
});
