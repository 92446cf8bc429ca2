import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Closure } from '../../src/closure/types.js';
import { STRATEGIES, planLayers } from '../../src/plan/plan.js';
import { planReusing, reusedFromPlan } from '../../src/plan/reuse.js';
import { simulateReleases } from '../../src/plan/simulate-reuse.js';
import { renamed } from '../../src/plan/simulate.js';
import { strata, strataOk } from '../helpers/cli.js';

const S = '/nix/store/';
const work = mkdtempSync(join(tmpdir(), 'strata-reuse-'));
process.on('exit', () => rmSync(work, { recursive: true, force: true }));

/** A layered graph of n paths: path i references a few lower ones (deterministic). */
function generated(n: number, salt = 0): Closure {
  let s = 12345 + salt;
  const rand = (): number => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32;
  const name = (i: number): string => `${S}${String(i).padStart(4, '0')}${'x'.repeat(28)}-p${i}`;
  const paths = Array.from({ length: n }, (_, i) => ({
    path: name(i),
    narSize: 1000 + Math.floor(rand() * 1e6),
    references: i === 0 ? [] : [...new Set(Array.from({ length: 1 + Math.floor(rand() * 3) }, () => name(Math.floor(rand() * i))))],
  }));
  return { storeDir: '/nix/store', paths };
}

function assertPartition(closure: Closure, layers: { paths: string[] }[], storeLayers: number): void {
  const all = layers.flatMap((l) => l.paths).sort();
  assert.deepEqual(all, closure.paths.map((p) => p.path).sort(), 'every path exactly once');
  assert.ok(layers.length <= storeLayers, `${layers.length} layers within the budget of ${storeLayers}`);
  assert.ok(layers.every((l) => l.paths.length > 0));
}

test('with --reuse every path is in exactly one layer, the budget is kept, and layers whose paths all remain are kept whole', () => {
  const base = generated(120);
  for (const strategy of STRATEGIES) {
    for (const maxLayers of [3, 8, 16, 32]) {
      const before = planLayers(base, { strategy, maxLayers });
      // Release: paths 30 and 100 and what depends on them get new hashes.
      const changed = new Set<string>();
      for (const lib of [base.paths[30]!.path, base.paths[100]!.path]) {
        const stack = [lib];
        while (stack.length) {
          const p = stack.pop()!;
          if (changed.has(p)) continue;
          changed.add(p);
          for (const q of base.paths) if (q.references.includes(p)) stack.push(q.path);
        }
      }
      const next = renamed(base, changed);
      // The previous plan, another image's plan (overlapping layers), and a layer with a path of no closure.
      const other = planLayers(generated(120, 1), { strategy, maxLayers });
      const reuse = [reusedFromPlan(before), reusedFromPlan(other), [{ paths: [S + 'zzzz-gone', next.paths[0]!.path] }]];
      assertPartition(next, planReusing(next, { strategy, maxLayers, reuse }).layers, maxLayers - 1);
      // With the previous plan alone (a lock file), its untouched layers are kept.
      const plan = planReusing(next, { strategy, maxLayers, reuse: reuse.slice(0, 1) });
      assertPartition(next, plan.layers, maxLayers - 1);
      const keys = new Set(plan.layers.map((l) => [...l.paths].sort().join()));
      const whole = before.layers.filter((l) => l.paths.every((p) => !changed.has(p)));
      const kept = whole.filter((l) => keys.has([...l.paths].sort().join()));
      // Kept: the untouched layers of the previous plan, at least as many as a quarter of the budget left to the strategy allows (the policy leaves two layers when it takes the plan for the previous release).
      const cap = maxLayers - 1 - Math.max(2, Math.ceil((maxLayers - 1) / 4));
      assert.ok(kept.length >= Math.min(whole.length, cap), `${strategy} ${maxLayers}: ${kept.length} of ${whole.length} untouched layers kept`);
      assert.ok(!keys.has([S + 'zzzz-gone', next.paths[0]!.path].sort().join()));
    }
  }
});

test('a reused layer is kept only where its options match; without reusable layers the plan is the strategy\'s', () => {
  const c = generated(40);
  const alone = planLayers(c, { maxLayers: 8 });
  assert.deepEqual(planReusing(c, { maxLayers: 8, reuse: [] }), alone);
  const layer = alone.layers[0]!.paths;
  const other = { paths: [...layer].reverse() };
  // The whole plan shipped before (a previous release), its first layer's paths in another order.
  const shipped = [{ ...other, options: 'a' }, ...alone.layers.slice(1).map((l) => ({ paths: l.paths, options: 'a' }))];
  const keep = planReusing(c, { maxLayers: 8, reuse: [shipped], layerOptions: () => 'a' });
  assert.deepEqual(keep.layers[0]!.paths, other.paths);
  const refused = planReusing(c, { maxLayers: 8, reuse: [shipped], layerOptions: () => 'b' });
  assert.ok(!refused.layers.some((l) => l.paths.join() === other.paths.join()));
});

// Store paths as plain directories, planned from a graph file, as a user's store would be.
function store(names: string[], version: string): { dir: string; graph: string } {
  const dir = join(work, 'store');
  const entries = names.map((n, i) => {
    const path = join(dir, `${n.split(':')[0]}-${n.split(':')[1]}`);
    mkdirSync(path, { recursive: true });
    writeFileSync(join(path, 'file'), `${path}\n`.repeat(100 * (i + 1)));
    return path;
  });
  // Each path references the one before it (a chain), the last is the application.
  const graph = join(work, `graph-${version}.json`);
  writeFileSync(graph, JSON.stringify(entries.map((path, i) => ({ path, narSize: 1000 * (i + 1), references: i === 0 ? [] : [entries[i - 1]] }))));
  return { dir, graph };
}

test('conf --reuse: an identical reused layer has identical bytes; different options are not reused', () => {
  const libs = ['aaaa:base', 'bbbb:libc', 'cccc:libx', 'dddd:liby', 'eeee:libz'];
  const v1 = store([...libs, 'ffff:app'], '1');
  const v2 = store([...libs, 'gggg:app'], '2');
  const c1 = join(work, 'one.json');
  const c2 = join(work, 'two.json');
  strataOk(['conf', '--graph', v1.graph, '--store-dir', v1.dir, '--max-layers', '4', '--strategy', 'size', '--digests', '-o', c1]);
  strataOk(['conf', '--graph', v2.graph, '--store-dir', v2.dir, '--max-layers', '4', '--strategy', 'size', '--digests', '--reuse', c1, '-o', c2]);
  const one = JSON.parse(readFileSync(c1, 'utf8'));
  const two = JSON.parse(readFileSync(c2, 'utf8'));
  const digestOf = (conf: { store_layers: string[][]; store_layer_digests: { digest: string }[] }, paths: string[]): string | undefined =>
    conf.store_layer_digests[conf.store_layers.findIndex((l) => l.join() === paths.join())]?.digest;
  const untouched = one.store_layers.filter((l: string[]) => !l.some((p) => p.includes('-app')));
  assert.ok(untouched.length >= 1);
  for (const l of untouched) assert.equal(digestOf(two, l), digestOf(one, l), `layer ${l.join(' ')} kept with the same bytes`);
  // Another owner makes other bytes: the conf's layers are not kept.
  const three = join(work, 'three.json');
  strataOk(['conf', '--graph', v2.graph, '--store-dir', v2.dir, '--max-layers', '4', '--strategy', 'size', '--uid', '1000', '--reuse', c1, '-o', three]);
  const planned = JSON.parse(readFileSync(three, 'utf8')).store_layers as string[][];
  const alone = JSON.parse(strataOk(['plan', '--graph', v2.graph, '--store-dir', v2.dir, '--max-layers', '4', '--strategy', 'size', '--format', 'json']).stdout).layers.map((l: { paths: string[] }) => l.paths);
  assert.deepEqual(planned, alone);
});

test('a plan file is a layer lock file: plan --reuse layers.json -o layers.json is stable', () => {
  const c = generated(60);
  const graph = join(work, 'lock-graph.json');
  writeFileSync(graph, JSON.stringify(c.paths));
  const lock = join(work, 'layers.json');
  strataOk(['plan', '--graph', graph, '--max-layers', '8', '--format', 'json', '-o', lock]);
  const first = readFileSync(lock, 'utf8');
  strataOk(['plan', '--graph', graph, '--max-layers', '8', '--format', 'json', '--reuse', lock, '-o', lock]);
  assert.equal(readFileSync(lock, 'utf8'), first);
  // A new release keeps the lock's layers that it still holds whole.
  const next = renamed(c, new Set([c.paths[59]!.path]));
  writeFileSync(graph, JSON.stringify(next.paths));
  strataOk(['plan', '--graph', graph, '--max-layers', '8', '--format', 'json', '--reuse', lock, '-o', lock]);
  const after = JSON.parse(readFileSync(lock, 'utf8')).layers.map((l: { paths: string[] }) => l.paths.join());
  const before = JSON.parse(first).layers.filter((l: { paths: string[] }) => !l.paths.includes(c.paths[59]!.path)).map((l: { paths: string[] }) => l.paths.join());
  for (const l of before) assert.ok(after.includes(l));
  const bad = strata(['plan', '--graph', graph, '--reuse', join(work, 'missing.json')]);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--reuse .*missing\.json: cannot open \(ENOENT\)/);
});

test('simulate --releases: bytes re-sent and registry growth match an independent count', () => {
  const c = generated(30);
  const images = [{ name: 'one', closure: c }];
  const size = new Map(c.paths.map((p) => [p.path, p.narSize]));
  // One path a layer (31 layers): a release re-sends exactly its new paths. One layer: everything.
  for (const [maxLayers, whole] of [[31, false], [2, true]] as const) {
    const sim = simulateReleases(images, { maxLayers, releases: 4, bump: 2, strategies: ['size'] });
    assert.equal(sim.libraries.length, 4);
    let cur = c;
    sim.libraries.forEach((libs, r) => {
      // Independently: the bumped paths, everything depending on them, and the top-level paths change.
      const parents = new Map<string, string[]>();
      for (const p of cur.paths) for (const q of p.references) parents.set(q, [...(parents.get(q) ?? []), p.path]);
      const changed = new Set(cur.paths.filter((p) => !parents.has(p.path)).map((p) => p.path));
      const seen = new Set<string>();
      const stack = [...libs];
      while (stack.length) {
        const p = stack.pop()!;
        if (seen.has(p)) continue;
        seen.add(p);
        changed.add(p);
        stack.push(...(parents.get(p) ?? []));
      }
      const bytes = [...changed].reduce((s, p) => s + (cur.paths.find((x) => x.path === p)!.narSize), 0);
      const all = cur.paths.reduce((s, p) => s + p.narSize, 0);
      assert.equal(sim.bound.resent[r], bytes);
      assert.equal(sim.bound.growth[r], bytes);
      for (const res of sim.results) {
        assert.equal(res.resent[r], whole ? all : bytes, `${res.strategy} reuse=${res.reuse} release ${r + 1}`);
        assert.equal(res.growth[r], whole ? all : bytes);
      }
      cur = renamed(cur, changed);
    });
    assert.equal([...size.values()].reduce((a, b) => a + b, 0), cur.paths.reduce((s, p) => s + p.narSize, 0));
  }
});
