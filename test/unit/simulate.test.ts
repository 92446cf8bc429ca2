import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type Closure, dependents, rehash, simulate, simulationToText, STRATEGIES, topLevel } from '../../src/index.js';

const S = '/nix/store/';

function graph(refs: Record<string, [number, string[]]>): Closure {
  const paths = Object.entries(refs).map(([p, [size, r]]) => ({ path: S + p, narSize: size, references: r.map((x) => S + x) }));
  paths.sort((a, b) => (a.path < b.path ? -1 : 1));
  return { storeDir: '/nix/store', paths };
}

// Two applications on one library on one base.
const img1 = graph({ 'a1-app1': [10, ['l-lib']], 'l-lib': [100, ['b-base']], 'b-base': [1000, []] });
const img2 = graph({ 'a2-app2': [20, ['l-lib']], 'l-lib': [100, ['b-base']], 'b-base': [1000, []] });
const fleet = [{ name: 'one', closure: img1 }, { name: 'two', closure: img2 }];

test('helpers: new hash of the same length, top-level paths, dependents', () => {
  const r = rehash(S + 'l-lib');
  assert.notEqual(r, S + 'l-lib');
  assert.match(r, /^\/nix\/store\/[0-9a-z]-lib$/);
  assert.equal(rehash(S + 'l-lib'), r);
  assert.deepEqual(topLevel(img1), [S + 'a1-app1']);
  assert.deepEqual([...dependents(img1, S + 'l-lib')].sort(), [S + 'a1-app1', S + 'l-lib']);
  assert.equal(dependents(img1, S + 'zz-none').size, 0);
});

test('simulate: hand-computed fleet, app and library numbers', () => {
  // 2 store layers (max-layers 3). size: [base] [lib app] in each image.
  //   fleet: base once + 110 + 120 = 1230 (bound 1130); app: 110 + 120 (bound 30);
  //   library (lib, app1, app2 change): 110 + 120 (bound 110 + 120).
  // shared: [base lib] [app] in each image: fleet 1130; app 10 + 20;
  //   library: [base lib'] re-pulled in both images with the app: 1110 + 1120.
  // popularity: base (popularity 3), lib (2), app (1): the same layers as size.
  const sim = simulate(fleet, { maxLayers: 3, strategies: ['size', 'shared', 'popularity', 'auto'], libraries: [S + 'l-lib'] });
  const by = Object.fromEntries(sim.results.map((r) => [r.strategy, r]));
  assert.deepEqual(by.size!.fleet, { bytes: 1230, bound: 1130 });
  assert.deepEqual(by.size!.app, { bytes: 230, bound: 30 });
  assert.deepEqual(by.size!.library, { bytes: 230, bound: 230 });
  assert.equal(by.size!.excess, 100 + 200);
  assert.deepEqual(by.shared!.fleet, { bytes: 1130, bound: 1130 });
  assert.deepEqual(by.shared!.app, { bytes: 30, bound: 30 });
  assert.deepEqual(by.shared!.library, { bytes: 2230, bound: 230 });
  assert.equal(by.shared!.excess, 2000);
  assert.deepEqual(by.popularity!.fleet, { bytes: 1230, bound: 1130 });
  // auto with 2 layers: base alone is taken first: [base] [lib app].
  assert.deepEqual(by.auto!.fleet, { bytes: 1230, bound: 1130 });
  const text = simulationToText(sim);
  assert.match(text, /^max-layers 3, 1 library update\(s\)/);
  assert.match(text, /\nshared +1130 +0 +30 +0 +2230 +2000 +2000 /);
});

test('simulate: shared groups the paths whose closures nearly match, hand-computed', () => {
  // app1 -> x, y; app2 -> x; x, y -> base. With 3 store layers (max-layers 4), app1 below its
  // top layer has base, x, y: pairs cost base+x 1100*2-1200+11000 = 12000, base+y 1010*2-1020+10100 = 11100,
  // x+y 110*3-220+1100 = 1210, so [base] [x y] [app1]; app2 has room for [base] [x] [app2].
  const one = graph({ 'a1-app1': [1, ['x-x', 'y-y']], 'x-x': [100, ['b-base']], 'y-y': [10, ['b-base']], 'b-base': [1000, []] });
  const two = graph({ 'a2-app2': [2, ['x-x']], 'x-x': [100, ['b-base']], 'b-base': [1000, []] });
  const sim = simulate([{ name: 'one', closure: one }, { name: 'two', closure: two }], { maxLayers: 4, strategies: ['shared', 'size'], libraries: [S + 'x-x'] });
  const [shared, size] = sim.results;
  // fleet: [base] [x y] [app1] [x] [app2]: x stored twice. library x: [x' y] [app1'] + [x'] [app2'].
  assert.deepEqual(shared!.fleet, { bytes: 1213, bound: 1113 });
  assert.deepEqual(shared!.app, { bytes: 3, bound: 3 });
  assert.deepEqual(shared!.library, { bytes: 111 + 102, bound: 101 + 102 });
  assert.equal(shared!.excess, 110);
  // size: [base] [x] [y app1] and [base] [x] [app2]: every layer shared, but app1's update re-ships y.
  assert.deepEqual(size!.fleet, { bytes: 1113, bound: 1113 });
  assert.deepEqual(size!.app, { bytes: 13, bound: 3 });
  assert.deepEqual(size!.library, { bytes: 111 + 102, bound: 203 });
  assert.equal(size!.excess, 20);
});

test('simulate: default libraries are sampled from non-top-level paths', () => {
  const sim = simulate(fleet, { maxLayers: 4, libraryCount: 5 });
  assert.deepEqual(sim.libraries, [S + 'b-base', S + 'l-lib']);
  assert.deepEqual(sim.results.map((r) => r.strategy), [...STRATEGIES]);
  for (const r of sim.results) assert.ok(r.fleet.bytes >= r.fleet.bound && r.app.bytes >= r.app.bound && r.library.bytes >= r.library.bound);
});
