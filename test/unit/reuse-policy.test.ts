import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Closure } from '../../src/closure/types.js';
import { planLayers } from '../../src/plan/plan.js';
import { planReusing } from '../../src/plan/reuse.js';
import { renamed } from '../../src/plan/simulate.js';

const S = '/nix/store/';

function graph(refs: Record<string, [number, string[]]>): Closure {
  const paths = Object.entries(refs).map(([p, [size, r]]) => ({ path: S + p, narSize: size, references: r.map((x) => S + x) }));
  paths.sort((a, b) => (a.path < b.path ? -1 : 1));
  return { storeDir: '/nix/store', paths };
}

const layersOf = (plan: { layers: { paths: string[] }[] }): string[][] => plan.layers.map((l) => [...l.paths].sort());
const p = (...names: string[]): string[] => names.map((n) => S + n).sort();

function assertPartition(closure: Closure, plan: { layers: { paths: string[] }[] }, storeLayers: number): void {
  assert.deepEqual(plan.layers.flatMap((l) => l.paths).sort(), closure.paths.map((x) => x.path).sort(), 'every path exactly once');
  assert.ok(plan.layers.length <= storeLayers, `${plan.layers.length} layers within ${storeLayers}`);
}

// base <- lib <- app: the application small beside its libraries.
const image = graph({ 'a-app': [10, ['l-lib']], 'l-lib': [100, ['b-base']], 'b-base': [1000, []] });

test('a previous release holding nearly all the bytes: its untouched layers are kept as they were', () => {
  const previous = [{ paths: p('b-base', 'l-lib') }, { paths: p('a-app') }];
  const next = renamed(image, new Set([S + 'a-app']));
  const plan = planReusing(next, { strategy: 'size', maxLayers: 4, reuse: [previous] });
  // Planned alone, size gives each path its own layer; the release keeps base and lib together.
  assert.notDeepEqual(layersOf(planLayers(next, { strategy: 'size', maxLayers: 4 }))[0], p('b-base', 'l-lib'));
  assert.deepEqual(layersOf(plan)[0], p('b-base', 'l-lib'));
  assertPartition(next, plan, 3);
});

test('a reused layer holding the application with libraries is never kept', () => {
  const reference = [{ paths: p('b-base') }, { paths: p('l-lib', 'a-app') }];
  const plan = planReusing(image, { strategy: 'size', maxLayers: 4, reuse: [reference] });
  assert.deepEqual(layersOf(plan)[0], p('b-base'));
  assert.ok(!layersOf(plan).some((l) => l.join() === p('l-lib', 'a-app').join()));
  assertPartition(image, plan, 3);
});

test('a reference that holds little of the closure: the strategy alone unless keeping saves bytes', () => {
  // Everything but the application changed: nothing of the reference survives whole.
  const next = renamed(image, new Set([S + 'l-lib', S + 'a-app']));
  const reference = [{ paths: p('b-base', 'l-lib') }, { paths: p('a-app') }];
  assert.deepEqual(planReusing(next, { maxLayers: 4, reuse: [reference] }), planLayers(next, { maxLayers: 4 }));
  // Another image of a fleet on the same base, with a large application of its own: the base's and the library's layers, stored already, are in it.
  const other = graph({ 'c-cli': [900, ['l-lib']], 'l-lib': [100, ['b-base']], 'b-base': [1000, []] });
  const fleetPlan = planReusing(other, { strategy: 'size', maxLayers: 4, reuse: [[{ paths: p('b-base') }, { paths: p('l-lib') }, { paths: p('a-app') }]] });
  const keys = layersOf(fleetPlan).map((l) => l.join());
  assert.ok(keys.includes(p('b-base').join()) && keys.includes(p('l-lib').join()), keys.join(' | '));
  assertPartition(other, fleetPlan, 3);
});

test('kept layers leave the strategy two layers, the smallest dissolved first', () => {
  // A chain of ten libraries under a small application; the previous release had one layer each.
  const refs: Record<string, [number, string[]]> = { 'z-app': [1, ['l9']] };
  for (let i = 0; i < 10; i++) refs[`l${i}`] = [1000 * (i + 1), i === 0 ? [] : [`l${i - 1}`]];
  const chain = graph(refs);
  const previous = chain.paths.map((x) => ({ paths: [x.path] }));
  const next = renamed(chain, new Set([S + 'z-app']));
  const plan = planReusing(next, { strategy: 'size', maxLayers: 6, reuse: [previous] });
  assertPartition(next, plan, 5);
  // Five store layers: the three largest libraries kept alone, two for the rest.
  assert.deepEqual(layersOf(plan).slice(0, 3), [p('l7'), p('l8'), p('l9')]);
});
