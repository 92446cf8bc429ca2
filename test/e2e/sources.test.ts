import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { strata, strataOk } from '../helpers/cli.js';
import { buildFixture, runTool, skopeoInspectConfig, skopeoInspectRaw, tmpDir, unpackAndRun } from '../helpers/store.js';

// Base images of every format strata reads, made by strata and by skopeo,
// each used as --from for a new image: the base layers must come through
// as stored (same blobs, same diff_ids), Env merged, --inherit applied, and
// the result must run the base's entrypoint.

let app: string;
let tricky: string;
let work: string;
let gzippedBlobs: string[];
const HELLO = 'hello from strata\nthe data says hi\n';

before(() => {
  app = buildFixture('app');
  tricky = buildFixture('tricky');
  work = tmpDir('strata-sources-');
  const baseArgs = [
    'image', app, '--name', 'base', '--tag', '1', '--max-layers', '4', '--entrypoint', `${app}/bin/hello`,
    '--env', 'A=1', '--env', 'PATH=/base/bin', '--config', '{"WorkingDir":"/tmp","Labels":{"from":"base"}}',
  ];
  strataOk([...baseArgs, '--to', `oci:${work}/oci-gzip:base`, '--compression', 'gzip']);
  strataOk([...baseArgs, '--to', `oci:${work}/oci-zstd`, '--compression', 'zstd']);
  strataOk([...baseArgs, '--to', `oci:${work}/oci-none`]);
  strataOk([...baseArgs, '--to', `oci-archive:${work}/base.oci.tar`, '--compression', 'gzip']);
  strataOk([...baseArgs, '-o', `${work}/base.tar`]);
  runTool('sh', ['-c', `gzip -c "${work}/base.tar" > "${work}/base.tar.gz" && zstd -q -c "${work}/base.tar" > "${work}/base.tar.zst"`]);
  runTool('skopeo', ['--insecure-policy', 'copy', '-q', `oci:${work}/oci-gzip:base`, `docker-archive:${work}/skopeo.tar:base:1`]);
  runTool('skopeo', ['--insecure-policy', 'copy', '-q', `docker-archive:${work}/base.tar`, `oci:${work}/skopeo-oci:back`]);
  docker25Archive();
  gzippedBlobs = gzippedMembers().blobs;
});

/** What docker save writes since docker 25 with the containerd store: an OCI layout (gzip layers) plus a manifest.json naming its blobs. */
function docker25Archive(): string {
  const dir = join(work, 'docker25');
  cpSync(join(work, 'oci-gzip'), dir, { recursive: true });
  const manifest = skopeoInspectRaw(`oci:${dir}:base`);
  const blob = (d: { digest: string }): string => `blobs/sha256/${d.digest.slice(7)}`;
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify([{ Config: blob(manifest.config), RepoTags: ['base:25'], Layers: manifest.layers.map(blob) }]));
  const file = join(work, 'docker25.tar');
  runTool('tar', ['-cf', file, '-C', dir, '.']);
  return file;
}

/** skopeo's docker-archive with each layer member gzip'ed in place (names unchanged); returns it and its layer blobs as "digest size". */
function gzippedMembers(): { file: string; blobs: string[] } {
  const dir = join(work, 'gzipped-members');
  runTool('mkdir', ['-p', dir]);
  runTool('tar', ['-xf', join(work, 'skopeo.tar'), '-C', dir]);
  const layers: string[] = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'))[0].Layers;
  const blobs = layers.map((layer) => {
    const gz = runTool('sh', ['-c', `gzip -n -c "${layer}" > "${layer}.gz" && mv "${layer}.gz" "${layer}" && sha256sum "${layer}" && stat -c %s "${layer}"`], { cwd: dir }).stdout.split(/\s+/);
    return `sha256:${gz[0]} ${gz[2]}`;
  });
  const file = join(work, 'gzipped-members.tar');
  runTool('tar', ['-cf', file, '-C', dir, '.']);
  return { file, blobs };
}

interface Base {
  what: string;
  /** The name given to --from (WORK stands for the work directory). */
  name: string;
  /** A name skopeo reads the same image by (its manifest lists the stored blobs). */
  skopeo: string;
  compression: 'none' | 'gzip' | 'zstd';
  /** Whether a docker-archive made from it keeps the base's layer members as they are. */
  members: boolean;
  /** The layer blobs ("digest size"), when skopeo's manifest does not list them as stored. */
  blobs?: string[];
  /** Its blobs are those gzippedMembers() gave. */
  gzippedBlobs?: boolean;
}

/** A base with the work directory in its names. */
const resolved = (base: Base): Base => ({
  ...base, name: base.name.replace('WORK', work), skopeo: base.skopeo.replace('WORK', work), ...(base.gzippedBlobs ? { blobs: gzippedBlobs } : {}),
});

const BASES: Base[] = [
  { what: 'OCI layout, gzip', name: 'oci:WORK/oci-gzip:base', skopeo: 'oci:WORK/oci-gzip:base', compression: 'gzip', members: false },
  { what: 'OCI layout, zstd, no ref', name: 'oci:WORK/oci-zstd', skopeo: 'oci:WORK/oci-zstd', compression: 'zstd', members: false },
  { what: 'OCI layout as a plain directory', name: 'WORK/oci-none', skopeo: 'oci:WORK/oci-none', compression: 'none', members: false },
  { what: 'OCI archive', name: 'oci-archive:WORK/base.oci.tar', skopeo: 'oci-archive:WORK/base.oci.tar', compression: 'gzip', members: false },
  { what: 'OCI archive as a plain path', name: 'WORK/base.oci.tar', skopeo: 'oci-archive:WORK/base.oci.tar', compression: 'gzip', members: false },
  { what: 'docker-archive', name: 'docker-archive:WORK/base.tar', skopeo: 'docker-archive:WORK/base.tar', compression: 'none', members: true },
  { what: 'docker-archive, gzip\'ed', name: 'WORK/base.tar.gz', skopeo: 'docker-archive:WORK/base.tar', compression: 'none', members: true },
  { what: 'docker-archive, zstd\'ed', name: 'docker-archive:WORK/base.tar.zst', skopeo: 'docker-archive:WORK/base.tar', compression: 'none', members: true },
  { what: 'docker-archive by skopeo from the OCI layout', name: 'WORK/skopeo.tar', skopeo: 'docker-archive:WORK/skopeo.tar', compression: 'none', members: true },
  { what: 'OCI layout by skopeo from the docker-archive', name: 'oci:WORK/skopeo-oci:back', skopeo: 'oci:WORK/skopeo-oci:back', compression: 'gzip', members: false },
  { what: 'docker-archive with gzip layer members (docker 25+)', name: 'WORK/docker25.tar', skopeo: 'oci:WORK/oci-gzip:base', compression: 'gzip', members: false },
  {
    what: 'docker-archive with gzip layer members under their old names', name: 'WORK/gzipped-members.tar', skopeo: 'docker-archive:WORK/skopeo.tar',
    compression: 'gzip', members: false, gzippedBlobs: true,
  },
];

const derivedArgs = (from: string): string[] =>
  ['image', tricky, '--name', 'derived', '--tag', '1', '--from', from, '--env', 'B=2', '--env', 'PATH=/new/bin', '--inherit', 'Entrypoint,WorkingDir'];

for (const [i, described] of BASES.entries()) {
  test(`--from ${described.what}: base layers as stored, then the new one; Env merged, --inherit kept; the entrypoint runs`, () => {
    const base = resolved(described);
    const baseManifest = skopeoInspectRaw(base.skopeo);
    const baseDiffIds: string[] = skopeoInspectConfig(base.skopeo).rootfs.diff_ids;
    assert.equal(baseDiffIds.length, 3);

    // OCI, keeping the base's compression: its blobs are copied, not packed again.
    const oci = `oci:${join(work, `derived-${i}`)}:d`;
    strataOk([...derivedArgs(base.name), '--to', oci, '--compression', base.compression]);
    const manifest = skopeoInspectRaw(oci);
    const config = skopeoInspectConfig(oci);
    assert.equal(manifest.layers.length, 4);
    const blobs = (m: { layers: { digest: string; size: number }[] }) => m.layers.map((l) => `${l.digest} ${l.size}`);
    assert.deepEqual(blobs(manifest).slice(0, 3), base.blobs ?? blobs(baseManifest));
    assert.deepEqual(config.rootfs.diff_ids.slice(0, 3), baseDiffIds);
    assert.deepEqual(config.config.Env, ['A=1', 'PATH=/new/bin', 'B=2']);
    assert.deepEqual(config.config.Entrypoint, [`${app}/bin/hello`]);
    assert.equal(config.config.WorkingDir, '/tmp');
    assert.equal(config.config.Labels, undefined, 'Labels was not asked for');

    // docker-archive: the same diff_ids; base members kept as read, or named as nixpkgs names layers.
    const archive = join(work, `derived-${i}.tar`);
    strataOk([...derivedArgs(base.name), '-o', archive]);
    assert.deepEqual(skopeoInspectConfig(archive).rootfs.diff_ids, config.rootfs.diff_ids);
    const names = runTool('tar', ['-tf', archive]).stdout.split('\n').slice(0, 3);
    if (base.members) {
      assert.deepEqual(names, JSON.parse(runTool('tar', ['-xOf', base.skopeo.slice('docker-archive:'.length), 'manifest.json']).stdout)[0].Layers);
    } else {
      assert.deepEqual(names, baseDiffIds.map((d) => `${d.slice(7)}/layer.tar`));
    }
    const run = unpackAndRun(archive, []);
    assert.equal(run.stdout, HELLO, run.stderr);
  });
}

test('--from a docker-archive keeps the archive byte for byte whatever the compression around it', () => {
  const plain = strataOk([...derivedArgs(`${work}/base.tar`), '-o', '-']).stdoutBytes;
  assert.ok(plain.equals(strataOk([...derivedArgs(`${work}/base.tar.gz`), '-o', '-']).stdoutBytes));
  assert.ok(plain.equals(strataOk([...derivedArgs(`${work}/base.tar.zst`), '-o', '-']).stdoutBytes));
});

test('conf.json carries inherit (only when given), and stream applies it', () => {
  const without = JSON.parse(strataOk(['conf', tricky, '--from', `${work}/base.tar`]).stdout);
  assert.equal('inherit' in without, false);
  const conf = join(work, 'inherit.json');
  strataOk(['conf', tricky, '--from', `${work}/oci-none`, '--inherit', 'Entrypoint, Labels', '-o', conf]);
  assert.deepEqual(JSON.parse(readFileSync(conf, 'utf8')).inherit, ['Entrypoint', 'Labels']);
  const out = join(work, 'inherit.tar');
  strataOk(['stream', conf, '-o', out]);
  const config = skopeoInspectConfig(out).config;
  assert.deepEqual(config.Entrypoint, [`${app}/bin/hello`]);
  assert.deepEqual(config.Labels, { from: 'base' });
  assert.equal(config.WorkingDir, undefined);
  // What the new config sets wins over the base.
  strataOk([...derivedArgs(`${work}/base.tar`), '--entrypoint', '/bin/own', '-o', join(work, 'own.tar')]);
  assert.deepEqual(skopeoInspectConfig(join(work, 'own.tar')).config.Entrypoint, ['/bin/own']);
});

test('--inherit: unknown keys, and no --from, are refused; so is a bad inherit field in conf.json', () => {
  const unknown = strata([...derivedArgs(`${work}/base.tar`).slice(0, -1), 'Entrypoint,Healthcheck']);
  assert.equal(unknown.status, 2);
  assert.match(unknown.stderr, /^strata: --inherit: 'Healthcheck' cannot be inherited; expected some of Entrypoint, Cmd, WorkingDir/);
  const noBase = strata(['image', tricky, '--inherit', 'Cmd']);
  assert.equal(noBase.status, 2);
  assert.match(noBase.stderr, /^strata: --inherit needs --from/);
  const conf = join(work, 'bad-inherit.json');
  writeFileSync(conf, JSON.stringify({ architecture: 'amd64', config: {}, store_layers: [], from_image: `${work}/base.tar`, inherit: 'Cmd' }));
  const bad = strata(['stream', conf, '-o', join(work, 'bad-inherit.tar')]);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /field 'inherit' must be a list of config keys/);
});

test('--from a multi-platform index takes the image for --architecture; none for it is an error listing them', () => {
  const confs = ['amd64', 'arm64'].map((arch) => {
    const file = join(work, `${arch}.json`);
    strataOk(['conf', app, '--architecture', arch, '--env', `ARCH=${arch}`, '--max-layers', '4', '-o', file]);
    return file;
  });
  const index = `oci:${work}/multi:both`;
  strataOk(['stream', ...confs, '--to', index, '--compression', 'zstd', '--allow-foreign-binaries']);
  const out = join(work, 'multi-derived.tar');
  strataOk(['image', tricky, '--architecture', 'arm64', '--from', index, '-o', out]);
  const config = skopeoInspectConfig(out);
  assert.equal(config.architecture, 'arm64');
  assert.deepEqual(config.config.Env, ['ARCH=arm64']);
  assert.equal(config.rootfs.diff_ids.length, 4);
  const none = strata(['image', tricky, '--architecture', 'riscv64', '--from', index, '-o', out]);
  assert.equal(none.status, 2);
  assert.match(none.stderr, /^strata: oci:.*multi:both: no image for linux\/riscv64 \(it has: linux\/amd64 \(both\), linux\/arm64 \(both\)\)\n$/);
});

test('--from names that are not images are one-line errors', () => {
  const refused = (from: string, message: RegExp): void => {
    const r = strata(['image', tricky, '--from', from, '-o', join(work, 'never.tar')]);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /^strata: [^\n]+\n$/);
    assert.match(r.stderr, message);
  };
  refused(`oci:${work}/oci-gzip:nope`, /no image named 'nope' \(it has: base\)/);
  refused(`docker-archive:${work}/skopeo.tar:other:2`, /no image tagged 'other:2' \(it has: [a-z.]+\/library\/base:1\)/);
  refused('http://example.com/x', /strata reads images from docker-archive:, oci:, oci-archive:, docker: or a path/);
  refused('docker://example.com', /no repository after the host; expected docker:\/\/HOST\[:PORT\]\/REPO/);
  refused(`oci:${work}/missing`, /missing: cannot open \(ENOENT\)/);
  refused(work, /no oci-layout file; not an OCI image layout/);
  const notImage = join(work, 'not-image.tar');
  runTool('tar', ['-cf', notImage, '-C', work, 'inherit.json']);
  refused(notImage, /holds neither a manifest.json \(docker-archive\) nor an oci-layout \(OCI archive\)/);
  const badGzip = join(work, 'bad.tar.gz');
  writeFileSync(badGzip, readFileSync(`${work}/base.tar.gz`).subarray(0, 2000));
  refused(badGzip, /bad\.tar\.gz: cannot gzip-decompress it/);
});
