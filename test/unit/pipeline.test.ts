import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type Closure, pipelineLayers, planLayers, readPipeline } from '../../src/index.js';

// Expected results are worked out by hand from nixpkgs' flatten_references_graph
// (pipe.py, lib.py, split_paths.py, subcomponent.py, popularity_contest.py);
// the first graphs are those of its own pipe_test.py.

/** A closure from [path, narSize, references] in graph order (nixpkgs orders vertices by NAR size, stably). */
function closure(nodes: [string, number, string[]][]): Closure {
  return { storeDir: '/nix/store', paths: nodes.map(([path, narSize, refs]) => ({ path, narSize, references: [path, ...refs] })) };
}

// pipe_test.py's graph: Root1 -> A -> {B, C}; B -> {D, E, G}; E -> F; Root2 -> B; Root3 -> C.
const testGraph = closure([
  ['Root1', 1, ['A']], ['A', 1, ['B', 'C']], ['B', 1, ['D', 'E', 'G']], ['C', 1, []], ['D', 1, []],
  ['E', 1, ['F']], ['F', 1, []], ['G', 1, []], ['Root2', 1, ['B']], ['Root3', 1, ['C']],
]);

test('pipe_test test_1: split_paths, over main (subcomponent_in, over rest popularity_contest), flatten, map remove_paths, limit_layers', () => {
  const pipeline = [
    ['split_paths', ['B']],
    ['over', 'main', ['pipe', [['subcomponent_in', ['B']], ['over', 'rest', ['popularity_contest']]]]],
    ['flatten'],
    ['map', ['remove_paths', 'Root3']],
    ['limit_layers', 5],
  ];
  // B alone; its own dependencies one a layer, F (reached through E) most popular;
  // the rest of the graph (less Root3) merged with G, the 5th and later values.
  assert.deepEqual(pipelineLayers(pipeline, testGraph), [['B'], ['F'], ['D'], ['E'], ['G', 'Root1', 'A', 'C', 'Root2']]);
});

test('pipe_test test_2: popularity_contest, limit_layers, reverse', () => {
  const g = closure([['Root1', 1, ['A']], ['A', 1, ['B']], ['B', 1, []], ['Root2', 1, []]]);
  assert.deepEqual(pipelineLayers([['popularity_contest']], g), [['B'], ['A'], ['Root1'], ['Root2']]);
  assert.deepEqual(pipelineLayers([['popularity_contest'], ['limit_layers', 3]], g), [['B'], ['A'], ['Root1', 'Root2']]);
  assert.deepEqual(pipelineLayers([['popularity_contest'], ['reverse'], ['limit_layers', 3]], g), [['Root2'], ['Root1'], ['A', 'B']]);
  // Fewer values than the limit: nothing merged, no empty layer.
  assert.deepEqual(pipelineLayers([['popularity_contest'], ['limit_layers', 9]], g), [['B'], ['A'], ['Root1'], ['Root2']]);
});

// app -> lib1, lib2; lib1, lib2 -> libc; tool -> libc. Two roots.
const appGraph = closure([
  ['libc', 30, []], ['tool', 5, ['libc']], ['lib1', 20, ['libc']], ['lib2', 10, ['libc']], ['app', 1, ['lib1', 'lib2']],
]);

test('split_paths: main, common, rest; children_of; a split root; nothing to split', () => {
  // lib1 and lib2 split off; libc is reached from tool too, so it is common. Paths in ascending NAR size.
  assert.deepEqual(pipelineLayers([['split_paths', [{ children_of: 'app' }]]], appGraph), [['lib2', 'lib1'], ['libc'], ['app', 'tool']]);
  // Splitting the root app: app, lib1 and lib2 (only app reaches them); libc is common with tool.
  assert.deepEqual(pipelineLayers([['split_paths', ['app']]], appGraph), [['app', 'lib2', 'lib1'], ['libc'], ['tool']]);
  // The only root split: the whole graph is main.
  const oneRoot = closure([['lib', 2, []], ['app', 1, ['lib']]]);
  assert.deepEqual(pipelineLayers([['split_paths', ['app']], ['over', 'main', ['split_every', 1]]], oneRoot), [['app'], ['lib']]);
  // A path not in the graph: everything is rest, and over main fails naming what there is.
  assert.deepEqual(pipelineLayers([['split_paths', ['/nix/store/absent']]], appGraph), [['app', 'tool', 'lib2', 'lib1', 'libc']]);
  assert.throws(() => pipelineLayers([['split_paths', ['/nix/store/absent']], ['over', 'main', ['popularity_contest']]], appGraph), /\[1\] over: the previous step gave no 'main' part \(it gave: rest\)/);
});

test('split_paths cuts references to the split paths in every part', () => {
  // a -> b -> c, a -> c; splitting b and c: main {b, c} without the b -> c edge, so popularity sees two roots.
  const g = closure([['a', 1, ['b', 'c']], ['b', 1, ['c']], ['c', 1, []]]);
  assert.deepEqual(pipelineLayers([['split_paths', ['b', 'c']], ['over', 'main', ['popularity_contest']]], g), [['b'], ['c'], ['a']]);
});

test('subcomponent_out and subcomponent_in: main and rest, even when empty', () => {
  assert.deepEqual(pipelineLayers([['subcomponent_out', ['lib1']]], appGraph), [['lib1', 'libc'], ['app', 'tool', 'lib2']]);
  assert.deepEqual(pipelineLayers([['subcomponent_in', ['libc']], ['over', 'main', ['remove_paths', ['libc', 'tool']]]], appGraph), [['app', 'lib2', 'lib1']]);
  // Nothing matches: main is empty and is not a layer.
  assert.deepEqual(pipelineLayers([['subcomponent_out', ['nope']]], appGraph), [['app', 'tool', 'lib2', 'lib1', 'libc']]);
});

test('map applies a step to each value; nested results are flattened in the end', () => {
  // main {lib2, lib1}, common {libc}, rest {app, tool}: no references left inside a part, so
  // popularity_contest ranks each part's paths by name alone.
  assert.deepEqual(
    pipelineLayers([['split_paths', [{ children_of: ['app'] }]], ['flatten'], ['map', ['popularity_contest']]], appGraph),
    [['lib1'], ['lib2'], ['libc'], ['app'], ['tool']],
  );
});

test('split_every chunks the graph in its order (ascending NAR size)', () => {
  assert.deepEqual(pipelineLayers([['split_every', 2]], appGraph), [['app', 'tool'], ['lib2', 'lib1'], ['libc']]);
});

test('bad pipelines: one line naming the step and what it expects', () => {
  const bad: [unknown, RegExp][] = [
    [{ steps: [] }, /--layering-pipeline pipeline: expected a list of steps/],
    [[['popularity']], /pipeline\[0\]: unknown step 'popularity'; the steps are popularity_contest, subcomponent_in/],
    [[['limit_layers', 0]], /pipeline\[0\] limit_layers: expected a whole number above 0, found 0/],
    [[['over', 'main', ['nope']]], /pipeline\[0\]\[2\]: unknown step 'nope'/],
    [[['subcomponent_in', 'B']], /pipeline\[0\] subcomponent_in: expected a list of store paths, found "B"/],
    [[['split_paths', [{ parents_of: 'B' }]]], /expected a store path or \{"children_of": paths\}/],
    [[['popularity_contest', 3]], /popularity_contest takes 0 argument\(s\), found 1/],
  ];
  for (const [pipeline, message] of bad) assert.throws(() => pipelineLayers(pipeline as unknown[], appGraph), message);
  // Steps given the wrong kind of value.
  assert.throws(() => pipelineLayers([['popularity_contest'], ['popularity_contest']], appGraph), /\[1\] popularity_contest: applies to a graph, not to a list; use over or map/);
  assert.throws(() => pipelineLayers([['split_paths', ['app']], ['limit_layers', 2]], appGraph), /\[1\] limit_layers: applies to a list, not to a set of parts; use flatten first/);
});

test('planLayers: explicit layers first, then the pipeline instead of the strategy', () => {
  const S = '/nix/store/';
  const c = closure([[S + 'aaa-libc', 30, []], [S + 'bbb-app', 1, [S + 'aaa-libc', S + 'ccc-data']], [S + 'ccc-data', 5, []]]);
  const plan = planLayers(c, { maxLayers: 10, layers: [[S + 'ccc-data']], pipeline: [['popularity_contest'], ['reverse']] });
  assert.deepEqual(plan.layers.map((l) => l.paths), [[S + 'ccc-data'], [S + 'bbb-app'], [S + 'aaa-libc']]);
  assert.deepEqual(plan.layers.map((l) => l.size), [5, 1, 30]);
});

test('readPipeline: a missing file is named', async () => {
  await assert.rejects(readPipeline('/nonexistent/missing.json'), /--layering-pipeline .*missing\.json: cannot read it/);
});
