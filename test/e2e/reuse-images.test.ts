/**
 * --reuse IMAGE: images strata reads (docker-archive, OCI layout, OCI
 * archive), built by strata and by nix/'s dockerTools drop-in with real
 * nix-build, name their layers' store paths in the history; planning
 * against them keeps those layers, and an image built against one has the
 * same layer bytes.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { strata, strataOk } from '../helpers/cli.js';
import { REPO_ROOT, buildFixture, nixBuild, tmpDir } from '../helpers/store.js';

let work: string;
let app: string;
let names: Record<'data' | 'libB' | 'libA' | 'busybox', string>;
before(() => {
  work = tmpDir('strata-reuse-images-');
  app = buildFixture('app');
  names = { data: buildFixture('data'), libB: buildFixture('lib-b'), libA: buildFixture('lib-a'), busybox: buildFixture('busybox') };
});

const planOf = (args: string[]): string[][] =>
  (JSON.parse(strataOk(['plan', ...args, '--format', 'json']).stdout) as { layers: { paths: string[] }[] }).layers.map((l) => l.paths);
const diffIds = (image: string): string[] => (JSON.parse(strataOk(['inspect', image, '--json']).stdout) as { layers: { diffId: string }[] }).layers.map((l) => l.diffId);

test('plan, conf and image --reuse of images strata wrote, in each format it reads', () => {
  const popularity = [[names.data], [names.libB], [names.busybox, names.libA, app]];
  assert.deepEqual(planOf([app, '--strategy', 'popularity', '--max-layers', '4']), popularity);
  // Planned alone, the shared strategy cuts the closure otherwise: what --reuse changes is seen.
  const alone = planOf([app, '--strategy', 'shared', '--max-layers', '5']);
  assert.ok(!alone.some((l) => l.join() === names.libB), alone.join(' | '));
  // Kept: data's and lib-b's layers; the third holds the application with libraries, so it is planned again, the application alone on top.
  const reused = (layers: string[][], image: string): void => {
    assert.deepEqual(layers.slice(0, 2), [[names.data], [names.libB]], image);
    assert.deepEqual(layers[layers.length - 1], [app], image);
    assert.deepEqual(layers.flat().sort(), [names.data, names.libB, names.busybox, names.libA, app].sort(), image);
    assert.ok(layers.length <= 4, image);
  };
  const images = [
    join(work, 'app.tar'),
    `docker-archive:${join(work, 'app-named.tar')}`,
    `oci:${join(work, 'layout')}:1`,
    `oci-archive:${join(work, 'app-oci.tar')}`,
  ];
  for (const image of images) {
    const to = image.includes(':') ? ['--to', image] : ['-o', image];
    strataOk(['image', app, '--strategy', 'popularity', '--max-layers', '4', '--compression', image.startsWith('oci') ? 'gzip' : 'none', ...to]);
    reused(planOf([app, '--strategy', 'shared', '--max-layers', '5', '--reuse', image]), image);
    // lib-a's closure holds the first two layers whole, not the third: those two are kept.
    assert.deepEqual(planOf([names.libA, '--strategy', 'shared', '--max-layers', '4', '--reuse', image]), [[names.data], [names.libB], [names.libA]], image);
  }
  // An image built against an image: the kept layers are the same bytes (customisation layer aside).
  const again = join(work, 'again.tar');
  strataOk(['image', app, '--strategy', 'shared', '--max-layers', '5', '--reuse', images[2]!, '-o', again]);
  assert.deepEqual(diffIds(again).slice(0, 2), diffIds(images[0]!).slice(0, 2));
  assert.notEqual(diffIds(again)[2], diffIds(images[0]!)[2]);
  const conf = JSON.parse(strataOk(['conf', app, '--strategy', 'shared', '--max-layers', '5', '--reuse', images[3]!]).stdout) as { store_layers: string[][] };
  reused(conf.store_layers, images[3]!);
});

test('plan --reuse of an image built by nix/\'s dockerTools (buildLayeredImage through the overlay line)', () => {
  const expr = join(work, 'drop-in.nix');
  const fixture = join(REPO_ROOT, 'test', 'fixtures', 'docker-tools.nix');
  writeFileSync(
    expr,
    `let t = import ${fixture} { repo = ${JSON.stringify(REPO_ROOT)}; node = ${JSON.stringify(process.execPath)}; }; in {\n` +
      `  image = t.dockerTools.buildLayeredImage { name = "reuse-app"; tag = "1"; contents = [ t.fx.app ]; maxLayers = 4; };\n}\n`,
  );
  const image = nixBuild(expr, 'image');
  const layers = (JSON.parse(strataOk(['inspect', image, '--json']).stdout) as { layers: { storePaths: string[] }[] }).layers.map((l) => l.storePaths);
  // Three store layers by popularity, then the customisation layer (its own store path, not in the closure).
  assert.deepEqual(layers.slice(0, 3), [[names.data], [names.libB], [names.busybox, names.libA, app]]);
  assert.equal(layers.length, 4);
  // data's and lib-b's layers kept; the third mixes the application with libraries and is planned again.
  for (const strategy of ['shared', 'auto']) {
    const planned = planOf([app, '--strategy', strategy, '--max-layers', '5', '--reuse', image]);
    assert.deepEqual(planned.slice(0, 2), [[names.data], [names.libB]], strategy);
    // shared gives the application a layer alone; auto plans it with lib-a, which only it uses.
    assert.ok(strategy === 'auto' ? planned[planned.length - 1]!.includes(app) : planned[planned.length - 1]!.join() === app, `${strategy}: ${planned.join(' | ')}`);
  }
});

test('--reuse of what is neither a plan, a conf nor an image names it, exit 2', () => {
  const junk = join(work, 'junk.txt');
  writeFileSync(junk, 'not an image\n');
  for (const ref of [junk, join(work, 'missing.tar'), `oci:${join(work, 'no-layout')}:1`]) {
    const r = strata(['plan', app, '--reuse', ref]);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /--reuse /);
    assert.ok(r.stderr.includes(ref.replace(/^oci:/, '').replace(/:1$/, '')), r.stderr);
    assert.equal(r.stdout, '');
  }
});
