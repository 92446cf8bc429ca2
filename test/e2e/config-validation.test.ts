import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { strata, strataOk } from '../helpers/cli.js';
import { buildFixture, graphFiles, runTool, skopeoInspect, skopeoInspectConfig, tmpDir } from '../helpers/store.js';

// The image runtime config checked against the OCI image-spec config schema
// (plus Docker's keys), its short forms normalised, and the image metadata
// options: --author, --os, --variant, --label, --annotation.

let app: string;
let work: string;
before(() => {
  app = buildFixture('app');
  work = tmpDir('strata-config-validation-');
});

/** `strata conf APP --config JSON` must fail with exactly `message` (one line, exit 2). */
function refused(config: string, message: string): void {
  const r = strata(['conf', app, '--config', config]);
  assert.equal(r.status, 2, `${config}: ${r.stderr}`);
  assert.equal(r.stderr, `strata: ${message}\n`, config);
}

test('a wrong type is one line on stderr naming the key path, exit 2', () => {
  // Every case is in test/unit/image-config.test.ts; these go through the command line.
  refused('{"User": 0}', 'config.User must be a string');
  refused('{"ExposedPorts": {"http": {}}}', 'config.ExposedPorts: "http" is not a port; write PORT[/PROTO] such as "80/tcp" (PROTO tcp, udp or sctp)');
});

test('the input is named: a conf file, --label, --annotation, annotations in a conf', () => {
  const conf = join(work, 'bad-config.json');
  strataOk(['conf', app, '-o', conf]);
  const data = JSON.parse(readFileSync(conf, 'utf8'));
  writeFileSync(conf, JSON.stringify({ ...data, config: { Labels: { a: 1 } } }));
  let r = strata(['stream', conf, '-o', join(work, 'never.tar')]);
  assert.equal(r.status, 2);
  assert.equal(r.stderr, `strata: ${conf}: config.Labels["a"] must be a string\n`);
  writeFileSync(conf, JSON.stringify({ ...data, annotations: { a: 1 } }));
  r = strata(['stream', conf, '-o', join(work, 'never.tar')]);
  assert.equal(r.stderr, `strata: ${conf}: field 'annotations' must be an object of strings\n`);
  for (const [option, value] of [['--label', 'nolabel'], ['--annotation', '=x'], ['--env', 'NOVALUE']]) {
    r = strata(['conf', app, option!, value!]);
    assert.equal(r.status, 2);
    assert.equal(r.stderr, `strata: ${option} ${value}: expected KEY=VALUE\n`);
  }
});

test('unknown keys: one warning line, kept as they are', () => {
  const r = strataOk(['conf', app, '--config', '{"entrypoint": ["/x"], "Healthcheck": {"Test": ["NONE"], "Foo": 1}, "X-Custom": [1.5]}']);
  assert.equal(r.stderr, 'strata: warning: keys not in the OCI image config, kept as they are: config.entrypoint (did you mean Entrypoint?), config.Healthcheck.Foo, config.X-Custom\n');
  assert.match(r.stdout, /"config": \{\n    "entrypoint": \[\n      "\/x"\n    \],\n    "Healthcheck": \{\n      "Test": \[\n        "NONE"\n      \],\n      "Foo": 1\n    \},\n    "X-Custom": \[\n      1\.5\n    \]\n  \}/);
  // Streaming a conf warns once, naming the file.
  const conf = join(work, 'unknown.json');
  writeFileSync(conf, r.stdout);
  const streamed = strataOk(['stream', conf, '-o', join(work, 'unknown.tar')]);
  assert.equal(streamed.stderr, `strata: warning: ${conf}: keys not in the OCI image config, kept as they are: config.entrypoint (did you mean Entrypoint?), config.Healthcheck.Foo, config.X-Custom\n`);
  assert.deepEqual(skopeoInspectConfig(join(work, 'unknown.tar')).config['X-Custom'], [1.5]);
});

test('list forms become the object forms, a single-string Cmd a one-element list; key order kept', () => {
  const out = join(work, 'normalised.tar');
  const config = {
    User: 'app', Cmd: `${app}/bin/hello`, ExposedPorts: ['80', '53/udp', '8000-8010/tcp'], Env: ['A=1'], Volumes: ['/data', '/cache'],
    Labels: { a: '1' }, OnBuild: null, Healthcheck: { Test: ['CMD-SHELL', 'true'], Interval: 30000000000, Retries: 3 }, Memory: 1024,
  };
  strataOk(['image', app, '--config', JSON.stringify(config), '--label', 'b=2', '--label', 'a=3', '-o', out]);
  const got = skopeoInspectConfig(out).config;
  assert.deepEqual(Object.keys(got), Object.keys(config));
  assert.deepEqual(got.ExposedPorts, { '80/tcp': {}, '53/udp': {}, '8000-8010/tcp': {} });
  assert.deepEqual(got.Volumes, { '/data': {}, '/cache': {} });
  assert.deepEqual(got.Cmd, [`${app}/bin/hello`]);
  assert.deepEqual(got.Labels, { a: '3', b: '2' });
  assert.deepEqual(got.Healthcheck, config.Healthcheck);
  assert.equal(got.Memory, 1024);
  const inspect = skopeoInspect(out);
  assert.deepEqual(inspect.Labels, { a: '3', b: '2' });
  // The conf holds the normalised forms, so streaming it gives the same bytes.
  const conf = join(work, 'normalised.json');
  strataOk(['conf', app, '--config', JSON.stringify(config), '--label', 'b=2', '--label', 'a=3', '-o', conf]);
  assert.deepEqual(JSON.parse(readFileSync(conf, 'utf8')).config.ExposedPorts, { '80/tcp': {}, '53/udp': {}, '8000-8010/tcp': {} });
  assert.deepEqual(strataOk(['stream', conf, '--nixpkgs-names']).stdoutBytes, readFileSync(out));
});

test('a config already in the object forms keeps its bytes: Python\'s json.dumps of the conf\'s own config', () => {
  // Written by hand as nixpkgs would: key order, number forms, non-ASCII, a null Volumes.
  const configText = '{"Labels":{"\u00fc":"\u65e5\u672c","10":"ten","2":"two"},"ExposedPorts":{"8080":{},"53/udp":{"x":1}},"Volumes":null,' +
    '"Env":["A=\u00e4"],"Healthcheck":{"Test":["NONE"],"Interval":0},"Entrypoint":null,"Cmd":[],"x":[1.5,1e+16,-0.0,3.0,100000000000000000000]}';
  const conf = join(work, 'nixpkgs-like.json');
  strataOk(['conf', app, '-o', conf]);
  writeFileSync(conf, readFileSync(conf, 'utf8').replace(/"config": \{\}/, `"config": ${configText}`));
  const out = join(work, 'nixpkgs-like.tar');
  strataOk(['stream', conf, '-o', out]);
  const manifest = JSON.parse(runTool('tar', ['-xOf', out, 'manifest.json']).stdout);
  const blob = runTool('tar', ['-xOf', out, manifest[0].Config]).stdout;
  // Python puts the conf's config into the blob strata wrote and dumps it as the script does.
  writeFileSync(join(work, 'blob.json'), blob);
  const python = 'import json,sys\nblob = json.load(open(sys.argv[1]))\nblob["config"] = json.loads(sys.argv[2])\nsys.stdout.write(json.dumps(blob, indent=4))';
  assert.equal(blob, runTool('python3', ['-c', python, join(work, 'blob.json'), configText]).stdout);
});

test('metadata: author, variant and os in the image config, labels, annotations in the OCI manifest', () => {
  const layout = join(work, 'oci');
  strataOk([
    'image', app, '--to', `oci:${layout}:meta`, '--author', 'Jane <jane@example.org>', '--variant', 'v8', '--os', 'linux',
    '--label', 'org.opencontainers.image.source=https://example.org/app', '--annotation', 'a=b', '--annotation', 'org.opencontainers.image.version=1.0',
  ]);
  const index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8'));
  const entry = index.manifests.find((m: any) => m.annotations?.['org.opencontainers.image.ref.name'] === 'meta');
  assert.deepEqual(entry.platform, { architecture: 'amd64', os: 'linux', variant: 'v8' });
  const blob = (digest: string): string => readFileSync(join(layout, 'blobs', 'sha256', digest.slice('sha256:'.length)), 'utf8');
  const manifest = JSON.parse(blob(entry.digest));
  assert.deepEqual(manifest.annotations, { a: 'b', 'org.opencontainers.image.version': '1.0' });
  // Where the OCI spec puts them; nixpkgs' keys keep their order around them.
  const config = JSON.parse(blob(manifest.config.digest));
  assert.deepEqual(Object.keys(config), ['created', 'author', 'architecture', 'variant', 'os', 'config', 'rootfs', 'history']);
  assert.equal(config.author, 'Jane <jane@example.org>');
  assert.deepEqual(skopeoInspect(`oci:${layout}:meta`).Labels, { 'org.opencontainers.image.source': 'https://example.org/app' });
  const inspected = skopeoInspectConfig(`oci:${layout}:meta`);
  assert.deepEqual([inspected.author, inspected.variant], ['Jane <jane@example.org>', 'v8']);

  // conf.json carries them as extra fields, after nixpkgs' own; stream honours them.
  const conf = join(work, 'meta.json');
  strataOk(['conf', app, '--author', 'me', '--variant', 'v7', '--architecture', 'arm', '--os', 'freebsd', '--annotation', 'k=v', '-o', conf]);
  const fields = JSON.parse(readFileSync(conf, 'utf8'));
  assert.deepEqual(Object.keys(fields).slice(-3), ['author', 'variant', 'annotations']);
  assert.equal(fields.os, 'freebsd');
  strataOk(['stream', conf, '--to', `oci:${layout}:arm`, '--allow-foreign-binaries']);
  const arm = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')).manifests.find((m: any) => m.annotations?.['org.opencontainers.image.ref.name'] === 'arm');
  assert.deepEqual(arm.platform, { architecture: 'arm', os: 'freebsd', variant: 'v7' });
  const armConfig = JSON.parse(blob(JSON.parse(blob(arm.digest)).config.digest));
  assert.deepEqual([armConfig.author, armConfig.architecture, armConfig.variant, armConfig.os], ['me', 'arm', 'v7', 'freebsd']);

  // docker-archive: the config has them too (it has no place for annotations).
  const archive = join(work, 'meta.tar');
  strataOk(['image', app, '--author', 'me', '--variant', 'v8', '--annotation', 'a=b', '-o', archive]);
  const dockerConfig = skopeoInspectConfig(archive);
  assert.deepEqual([dockerConfig.author, dockerConfig.variant], ['me', 'v8']);
});

test('without the new options, conf.json has nixpkgs\' fields, in nixpkgs\' order, and nar_hashes where the closure\'s source gives them', () => {
  const nixpkgs = ['architecture', 'config', 'os', 'store_dir', 'from_image', 'store_layers', 'customisation_layer', 'repo_tag', 'created', 'mtime', 'uid', 'gid', 'uname', 'gname'];
  assert.deepEqual(Object.keys(JSON.parse(strataOk(['conf', app]).stdout)), [...nixpkgs, 'nar_hashes']);
  // A reference graph without hashes (plain exportReferencesGraph): nixpkgs' fields alone.
  assert.deepEqual(Object.keys(JSON.parse(strataOk(['conf', '--graph', graphFiles('app').registration]).stdout)), nixpkgs);
});
