import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { strata, strataOk } from '../helpers/cli.js';
import { buildFixture, runTool, tmpDir, unpackAndRun } from '../helpers/store.js';

let app: string;
let work: string;
let base: string[];
before(() => {
  app = buildFixture('app');
  work = tmpDir('strata-oci-');
  base = ['image', app, '--name', 'app', '--tag', '1', '--max-layers', '4', '--entrypoint', `${app}/bin/hello`];
});
const skopeo = (...args: string[]): string => runTool('skopeo', ['--insecure-policy', ...args]).stdout;
const json = (f: string): any => JSON.parse(readFileSync(f, 'utf8'));
const blob = (dir: string, digest: string): string => join(dir, 'blobs', 'sha256', digest.slice(7));

function manifestOf(dir: string, ref: string): any {
  const entry = json(join(dir, 'index.json')).manifests.find((m: any) => m.annotations?.['org.opencontainers.image.ref.name'] === ref);
  return json(blob(dir, entry.digest));
}

test('oci layouts with each compression: right media types, shared diff_ids, readable and runnable', () => {
  const layout = join(work, 'layout');
  const archive = join(work, 'app.tar');
  strataOk([...base, '-o', archive]);
  const dockerLayers = JSON.parse(runTool('tar', ['-xOf', archive, 'manifest.json']).stdout)[0].Layers.map((l: string) => `sha256:${l.split('/')[0]}`);
  for (const c of ['none', 'gzip', 'zstd']) {
    strataOk([...base, '--to', `oci:${layout}:${c}`, '--compression', c]);
    const m = manifestOf(layout, c);
    assert.equal(m.mediaType, 'application/vnd.oci.image.manifest.v1+json');
    const type = c === 'none' ? 'application/vnd.oci.image.layer.v1.tar' : `application/vnd.oci.image.layer.v1.tar+${c}`;
    assert.deepEqual(m.layers.map((l: any) => l.mediaType), [type, type, type]);
    // diff_ids are the uncompressed tars: the docker-archive's layers exactly.
    assert.deepEqual(json(blob(layout, m.config.digest)).rootfs.diff_ids, dockerLayers);
    if (c === 'none') assert.deepEqual(m.layers.map((l: any) => l.digest), dockerLayers);
    assert.match(skopeo('inspect', `oci:${layout}:${c}`), /"Architecture": "amd64"/);
  }
  // umoci here reads tar and tar+gzip; zstd goes through skopeo's conversion first.
  const converted = join(work, 'converted');
  skopeo('copy', '--dest-compress-format', 'gzip', `oci:${layout}:zstd`, `oci:${converted}:x`);
  for (const ref of [`${layout}:none`, `${layout}:gzip`, `${converted}:x`]) {
    const docker = join(work, `from-${readdirSync(work).length}.tar`);
    if (!ref.startsWith(converted)) {
      assert.equal(unpackOci(ref), 'hello from strata\nthe data says hi\n');
    }
    skopeo('copy', `oci:${ref}`, `docker-archive:${docker}`);
    assert.equal(unpackAndRun(docker, []).stdout, 'hello from strata\nthe data says hi\n');
  }
});

function unpackOci(ref: string): string {
  const bundle = join(tmpDir('strata-oci-bundle-'), 'b');
  runTool('umoci', ['unpack', '--image', ref, bundle]);
  return runTool('/usr/sbin/chroot', [join(bundle, 'rootfs'), `${app}/bin/hello`]).stdout;
}

test('compressed output is deterministic: same blobs twice, gzip headers without time or name', () => {
  const a = join(work, 'det-a');
  const b = join(work, 'det-b');
  for (const dir of [a, b]) {
    strataOk([...base, '--to', `oci:${dir}:gz`, '--compression', 'gzip', '--compression-level', '9']);
    strataOk([...base, '--to', `oci:${dir}:zst`, '--compression', 'zstd', '--compression-level', '19']);
  }
  assert.equal(readFileSync(join(a, 'index.json'), 'utf8'), readFileSync(join(b, 'index.json'), 'utf8'));
  for (const layer of manifestOf(a, 'gz').layers) {
    const head = readFileSync(blob(a, layer.digest)).subarray(0, 10);
    assert.equal(head.readUInt32LE(4), 0, 'gzip mtime is zero');
    assert.equal(head[3]! & 0x08, 0, 'gzip header has no file name');
  }
  assert.equal(strata([...base, '--to', `oci:${a}:x`, '--compression', 'gzip', '--compression-level', '12']).status, 2);
  const word = strata([...base, '--to', `oci:${a}:y`, '--compression', 'gzip', '--compression-level', 'fast']);
  assert.equal(word.status, 2);
  assert.equal(word.stderr, 'strata: --compression-level: expected a whole number (gzip 0-9, zstd 1-19)\n');
  assert.equal(strata([...base, '-o', join(work, 'x.tar'), '--compression', 'gzip']).status, 2);
});

test('oci-archive: skopeo reads it, and it converts to docker-archive and runs', () => {
  const file = join(work, 'app.oci.tar');
  strataOk([...base, '--to', `oci-archive:${file}:v1`, '--compression', 'gzip']);
  assert.match(skopeo('inspect', `oci-archive:${file}:v1`), /"Os": "linux"/);
  const docker = join(work, 'from-oci-archive.tar');
  skopeo('copy', `oci-archive:${file}:v1`, `docker-archive:${docker}`);
  assert.equal(unpackAndRun(docker, []).stdout, 'hello from strata\nthe data says hi\n');
  assert.deepEqual(readdirSync(work).filter((f) => f.includes('.layout-')), []);
});

test('several confs make one multi-platform index', () => {
  const amd = join(work, 'amd64.json');
  const arm = join(work, 'arm64.json');
  strataOk(['conf', app, '--name', 'multi', '--tag', '1', '--architecture', 'amd64', '-o', amd]);
  strataOk(['conf', app, '--name', 'multi', '--tag', '1', '--architecture', 'arm64', '-o', arm]);
  const layout = join(work, 'multi');
  strataOk(['stream', amd, arm, '--to', `oci:${layout}:multi`, '--allow-foreign-binaries']);
  const top = json(join(layout, 'index.json')).manifests;
  assert.equal(top.length, 1);
  assert.equal(top[0].mediaType, 'application/vnd.oci.image.index.v1+json');
  const index = json(blob(layout, top[0].digest));
  assert.deepEqual(index.manifests.map((m: any) => m.platform.architecture), ['amd64', 'arm64']);
  for (const arch of ['amd64', 'arm64']) {
    assert.match(skopeo('--override-arch', arch, 'inspect', `oci:${layout}:multi`), new RegExp(`"Architecture": "${arch}"`));
  }
  assert.equal(strata(['stream', amd, arm, '-o', join(work, 'multi.tar')]).status, 2);
  assert.match(strata(['stream', amd, amd, '--to', `oci:${layout}:dup`]).stderr, /two images for platform linux\/amd64/);
});
