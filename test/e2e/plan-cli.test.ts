import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { strata, strataOk } from '../helpers/cli.js';
import { tmpDir } from '../helpers/store.js';

// `strata plan` and `strata simulate` on graph files: the planners of
// test/unit/ reached through the command line.

const S = '/nix/store/';

test('strata plan --layering-pipeline FILE or inline JSON; a bad one is exit 2', () => {
  const dir = tmpDir('pipeline');
  const graph = [
    { path: `${S}aaaa-app`, narSize: 10, references: [`${S}bbbb-lib`] },
    { path: `${S}bbbb-lib`, narSize: 20, references: [`${S}cccc-libc`] },
    { path: `${S}cccc-libc`, narSize: 40, references: [] },
  ];
  writeFileSync(join(dir, 'graph.json'), JSON.stringify(graph));
  const pipeline = [['subcomponent_out', [`${S}bbbb-lib`]], ['over', 'main', ['popularity_contest']]];
  writeFileSync(join(dir, 'pipeline.json'), JSON.stringify(pipeline));
  const fromFile = strataOk(['plan', '--graph', join(dir, 'graph.json'), '--layering-pipeline', join(dir, 'pipeline.json'), '--format', 'json']);
  assert.deepEqual(JSON.parse(fromFile.stdout).layers.map((l: { paths: string[] }) => l.paths), [[`${S}cccc-libc`], [`${S}bbbb-lib`], [`${S}aaaa-app`]]);
  const inline = strataOk(['plan', '--graph', join(dir, 'graph.json'), '--layering-pipeline', JSON.stringify(pipeline), '--format', 'json']);
  assert.equal(inline.stdout, fromFile.stdout);
  const bad = strata(['plan', '--graph', join(dir, 'graph.json'), '--layering-pipeline', '[["flatten", 1]]']);
  assert.equal(bad.status, 2);
  assert.equal(bad.stderr, 'strata: --layering-pipeline JSON: pipeline[0]: flatten takes 0 argument(s), found 1\n');
});

test('strata simulate --graph and strata plan --layer, from the command line', () => {
  // Two applications on one library on one base, as in test/unit/simulate.test.ts.
  const graph = (app: string, size: number) => [
    { path: S + app, narSize: size, references: [S + 'l-lib'] },
    { path: S + 'b-base', narSize: 1000, references: [] },
    { path: S + 'l-lib', narSize: 100, references: [S + 'b-base'] },
  ];
  const dir = tmpDir('strata-simulate-');
  const files = [graph('a1-app1', 10), graph('a2-app2', 20)].map((g, k) => {
    const f = join(dir, `g${k}.json`);
    writeFileSync(f, JSON.stringify(g));
    return f;
  });
  const out = strataOk(['simulate', '--graph', files[0]!, '--graph', files[1]!, '--max-layers', '3', '--library', S + 'l-lib']).stdout;
  assert.match(out, /^2 images\nmax-layers 3, 1 library update\(s\)\n/);
  assert.match(out, /\nsize +1230 +100 +230 +200 +230 +0 +300 /);
  assert.match(out, /\nshared +1130 +0 +30 +0 +2230 +2000 +2000 /);
  const json = JSON.parse(strataOk(['simulate', '--graph', files[0]!, '--max-layers', '3', '4', '--strategy', 'size', '--json']).stdout);
  assert.deepEqual(json.map((s: { maxLayers: number }) => s.maxLayers), [3, 4]);
  const plan = JSON.parse(strataOk(['plan', '--graph', files[0]!, '--layer', S + 'l-lib', '--strategy', 'shared', '--max-layers', '3', '--format', 'json']).stdout);
  assert.deepEqual(plan.layers.map((l: { paths: string[] }) => l.paths), [[S + 'b-base', S + 'l-lib'], [S + 'a1-app1']]);
  assert.equal(plan.strategy, 'shared');
});
