import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { strata, strataOk } from '../helpers/cli.js';
import {
  buildFixture, graphFiles, nixStore, podmanLoad, queryRequisites, runTool, skopeoInspect, skopeoInspectConfig, tmpDir, unpackAndRun,
} from '../helpers/store.js';

const sha256File = (f: string): string => createHash('sha256').update(readFileSync(f)).digest('hex');

let app: string;
let busybox: string;
let work: string;
before(() => {
  app = buildFixture('app');
  busybox = buildFixture('busybox');
  work = tmpDir('strata-image-test-');
});

test('closure: the store query lists the requisites with sizes and references', () => {
  const closure = JSON.parse(strataOk(['closure', app, '--json']).stdout) as { path: string; narSize: number; references: string[] }[];
  assert.deepEqual(closure.map((p) => p.path), [...queryRequisites(app)].sort());
  const dump = nixStore(['--dump-db', app]).split('\n');
  assert.equal(closure.find((p) => p.path === app)!.narSize, Number(dump[2]));
  assert.ok(closure.find((p) => p.path === app)!.references.includes(busybox));
  assert.equal(strataOk(['closure', app]).stdout, [...queryRequisites(app)].sort().join('\n') + '\n');
});

test('closure --graph: registration text and .attrs.json give the store\'s paths, references and NAR sizes', () => {
  const fromStore = strataOk(['closure', app, '--json']).stdout;
  const graphs = graphFiles('app');
  assert.equal(strataOk(['closure', '--graph', graphs.registration, '--json']).stdout, fromStore);
  assert.equal(strataOk(['closure', '--graph', graphs.attrsJson, '--json']).stdout, fromStore);
});

test('plan: every path in exactly one layer, within the budget, same from --graph', () => {
  const requisites = queryRequisites(app);
  for (const max of [2, 3, 4, 100]) {
    const plan = JSON.parse(strataOk(['plan', app, '--max-layers', String(max), '--format', 'json']).stdout);
    const paths = plan.layers.flatMap((l: { paths: string[] }) => l.paths);
    assert.deepEqual([...paths].sort(), [...requisites].sort());
    assert.equal(new Set(paths).size, paths.length);
    assert.equal(plan.layers.length, Math.min(max - 1, requisites.length));
    const graphPlan = strataOk(['plan', '--graph', graphFiles('app').registration, '--max-layers', String(max), '--format', 'json']).stdout;
    assert.deepEqual(JSON.parse(graphPlan), plan);
  }
  assert.equal(strata(['plan', app, '--max-layers', '1']).status, 2);
});

test('image: skopeo and podman load it, the entrypoint runs, bytes are stable', () => {
  const out = join(work, 'app.tar');
  const args = ['image', app, '--name', 'app', '--tag', 'v1', '--entrypoint', `${app}/bin/hello`, '--max-layers', '4', '-o', out];
  strataOk(args);
  const info = skopeoInspect(out);
  assert.equal(info.Layers.length, 3);
  assert.equal(info.Architecture, 'amd64');
  assert.equal(info.Os, 'linux');
  const config = skopeoInspectConfig(out);
  assert.deepEqual(config.config.Entrypoint, [`${app}/bin/hello`]);
  assert.equal(config.history.length, 3);
  assert.match(podmanLoad(out), /app:v1/);
  const run = unpackAndRun(out, []);
  assert.equal(run.stdout, 'hello from strata\nthe data says hi\n');
  const again = join(work, 'app-again.tar');
  strataOk([...args.slice(0, -1), again], { env: { ...process.env, TZ: 'Asia/Kolkata', LC_ALL: 'C' } });
  assert.equal(sha256File(again), sha256File(out));
  // On stdout, nixpkgs' names (the file's bytes) with --nixpkgs-names; by default names from the layers' inputs, the same length.
  const viaStdout = strataOk([...args.slice(0, -2), '--nixpkgs-names']);
  assert.equal(createHash('sha256').update(viaStdout.stdoutBytes).digest('hex'), sha256File(out));
  const inputNamed = strataOk(args.slice(0, -2)).stdoutBytes;
  assert.equal(inputNamed.length, viaStdout.stdoutBytes.length);
  assert.notEqual(createHash('sha256').update(inputNamed).digest('hex'), sha256File(out));
});

test('conf + stream: a customisation tree packed by strata, and a nixpkgs-style conf', () => {
  const tree = join(work, 'custom');
  mkdirSync(join(tree, 'etc'), { recursive: true });
  writeFileSync(join(tree, 'etc', 'motd'), 'welcome\n');
  symlinkSync(`${busybox}/bin`, join(tree, 'bin'));
  const confFile = join(work, 'conf.json');
  strataOk(['conf', busybox, '--name', 'Shell', '--customisation', tree, '--config', '{"Cmd": ["/bin/sh"], "Env": ["A=1"]}', '-o', confFile]);
  const conf = JSON.parse(readFileSync(confFile, 'utf8'));
  assert.deepEqual(conf.store_layers, [[busybox]]);
  assert.match(conf.repo_tag, /^shell:[0-9a-f]{32}$/);
  assert.equal(conf.customisation_layer, tree);
  // Named relative to the working directory, it is written absolute: the conf streams from anywhere.
  const relative = strataOk(['conf', busybox, '--name', 'Shell', '--customisation', 'custom', '--config', '{"Cmd": ["/bin/sh"], "Env": ["A=1"]}'], { cwd: work }).stdout;
  assert.equal(relative, readFileSync(confFile, 'utf8'));
  const out = join(work, 'shell.tar');
  strataOk(['stream', confFile, '-o', out]);
  assert.equal(skopeoInspect(out).Layers.length, 2);
  assert.equal(unpackAndRun(out, ['/bin/sh', '-c', 'cat /etc/motd; echo $A']).stdout, 'welcome\n1\n');

  // As nixpkgs writes it: uid/gid as strings, created "now", a ready layer.tar + checksum made by GNU tar.
  const ready = join(work, 'ready');
  mkdirSync(ready);
  runTool('tar', ['--sort=name', '--numeric-owner', '--mtime=@1', '--hard-dereference', '-C', tree, '-cf', join(ready, 'layer.tar'), '.']);
  writeFileSync(join(ready, 'checksum'), sha256File(join(ready, 'layer.tar')) + '\n');
  const nixpkgsConf = {
    architecture: 'amd64', config: { Entrypoint: [`${busybox}/bin/sh`] }, os: 'linux', store_dir: '/nix/store', from_image: null,
    store_layers: [[busybox]], customisation_layer: ready, repo_tag: 'nixpkgs-style:latest', created: 'now', mtime: 'now',
    uid: '1000', gid: '100', uname: 'user', gname: 'users',
  };
  writeFileSync(confFile, JSON.stringify(nixpkgsConf));
  const streamed = join(work, 'nixpkgs-style.tar');
  strataOk(['stream', confFile, '-o', streamed, '-t', 'retagged:1']);
  assert.match(podmanLoad(streamed), /retagged:1/);
  assert.equal(unpackAndRun(streamed, ['/bin/sh', '-c', 'cat /etc/motd']).stdout, 'welcome\n');
});

test('stream: a bad conf is a one-line error naming the field, and leaves no file', () => {
  const confFile = join(work, 'bad.json');
  const out = join(work, 'bad.tar');
  writeFileSync(confFile, JSON.stringify({ architecture: 'amd64', config: {}, created: 'x', store_layers: 'nope' }));
  const r = strata(['stream', confFile, '-o', out]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /^strata: .*bad\.json: field 'store_layers' must be a list of lists of store paths\n$/);
  assert.equal(existsSync(out), false);
  writeFileSync(confFile, JSON.stringify({ architecture: 'amd64', config: {}, store_layers: [['/nix/store/00000000000000000000000000000000-missing']] }));
  const missing = strata(['stream', confFile, '-o', out]);
  assert.notEqual(missing.status, 0);
  assert.match(missing.stderr, /00000000000000000000000000000000-missing: no such file/);
  assert.deepEqual(readdirSync(work).filter((f) => f.includes('bad.tar')), []);
});
