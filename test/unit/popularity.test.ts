import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type Closure, limitLayers, planLayers, popularityOrder, tieKey } from '../../src/index.js';

const S = '/nix/store/';

/** A closure from {name: [references]} with every size 10. */
function graph(refs: Record<string, string[]>): Closure {
  return {
    storeDir: '/nix/store',
    paths: Object.entries(refs).map(([p, r]) => ({ path: S + p, narSize: 10, references: r.map((x) => S + x) })),
  };
}

// The example of nixpkgs' closure-graph.py: A=1 B=2 C=3 D=4 E=5 F=9 G=2.
const example = graph({
  'a-A': ['b-B', 'g-G'],
  'b-B': ['c-C', 'e-E'],
  'c-C': ['d-D', 'e-E'],
  'd-D': ['f-F'],
  'e-E': ['f-F'],
  'f-F': [],
  'g-G': [],
});

test('the closure-graph.py example gives F E D C B G A', () => {
  assert.deepEqual(popularityOrder(example).map((p) => p.slice(S.length)), ['f-F', 'e-E', 'd-D', 'c-C', 'b-B', 'g-G', 'a-A']);
});

test('ties are ordered by name part, then hash', () => {
  assert.equal(tieKey('/nix/store/abc-hello-1.0'), 'hello-1.0-/nix/store/abc');
  const order = popularityOrder(graph({ 'zzz-root': ['bbb-x', 'aaa-y', 'ccc-x'], 'bbb-x': [], 'aaa-y': [], 'ccc-x': [] }));
  assert.deepEqual(order.map((p) => p.slice(S.length)), ['bbb-x', 'ccc-x', 'aaa-y', 'zzz-root']);
});

test('several roots: shared paths rank first, each root counts once', () => {
  const order = popularityOrder(graph({ 'r1-one': ['l-lib'], 'r2-two': ['l-lib'], 'l-lib': ['c-core'], 'c-core': [] }));
  // lib: 2 routes + roots 1+1 = 4; core: roots 2 + lib 2 + itself 2 = 6.
  assert.deepEqual(order.map((p) => p.slice(S.length)), ['c-core', 'l-lib', 'r1-one', 'r2-two']);
});

test('self references are ignored', () => {
  const withSelf = graph({ 'a-app': ['a-app', 'l-lib'], 'l-lib': ['l-lib'] });
  assert.deepEqual(popularityOrder(withSelf).map((p) => p.slice(S.length)), ['l-lib', 'a-app']);
});

test('paths only referenced get a place; reference cycles are refused', () => {
  const c: Closure = { storeDir: '/nix/store', paths: [{ path: S + 'a-app', narSize: 1, references: [S + 'a-app'] }] };
  assert.deepEqual(popularityOrder(c), [S + 'a-app']);
  assert.throws(() => popularityOrder(graph({ 'a-x': ['b-y'], 'b-y': ['a-x'], 'r-root': [] })), /cycle/);
});

test('popularity counts are exact beyond 2^53 routes', () => {
  // A ladder of 60 diamonds doubles the routes at each step: 2^60 routes to the bottom.
  const refs: Record<string, string[]> = {};
  for (let i = 0; i < 60; i++) {
    refs[`t${i}-top`] = [`l${i}-left`, `r${i}-right`];
    refs[`l${i}-left`] = [`t${i + 1}-top`];
    refs[`r${i}-right`] = [`t${i + 1}-top`];
  }
  refs['t60-top'] = ['z-bottom', 'y-bottom'];
  refs['z-bottom'] = [];
  refs['y-bottom'] = [];
  const order = popularityOrder(graph(refs));
  // Both bottoms tie exactly, so the name then hash decides.
  assert.deepEqual(order.slice(0, 3).map((p) => p.slice(S.length)), ['y-bottom', 'z-bottom', 't60-top']);
});

test('limitLayers packs like nixpkgs: n-1 single layers, the rest in the last', () => {
  assert.deepEqual(limitLayers(['a', 'b', 'c', 'd'], 3), [['a'], ['b'], ['c', 'd']]);
  assert.deepEqual(limitLayers(['a', 'b'], 3), [['a'], ['b']]);
  assert.deepEqual(limitLayers(['a', 'b', 'c'], 3), [['a'], ['b'], ['c']]);
  assert.deepEqual(limitLayers(['a', 'b', 'c'], 1), [['a', 'b', 'c']]);
  assert.deepEqual(limitLayers([], 5), []);
});

test('planLayers: maxLayers counts the customisation layer and must exceed 1', () => {
  const plan = planLayers(example, { strategy: 'popularity', maxLayers: 3 });
  assert.equal(plan.layers.length, 2);
  assert.deepEqual(plan.layers[0], { paths: [S + 'f-F'], size: 10 });
  assert.equal(plan.layers[1]!.paths.length, 6);
  assert.equal(plan.layers[1]!.size, 60);
  assert.equal(planLayers(example, { strategy: 'popularity', maxLayers: 2 }).layers.length, 1);
  assert.equal(planLayers(example, { strategy: 'popularity' }).layers.length, 7);
  assert.throws(() => planLayers(example, { maxLayers: 1 }), /greater than 1/);
  assert.throws(() => planLayers(example, { maxLayers: 4, baseLayers: 3 }), /no layer for the store paths/);
  assert.deepEqual(planLayers({ storeDir: '/nix/store', paths: [] }).layers, []);
});
