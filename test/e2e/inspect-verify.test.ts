import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { indexTar } from '../../src/index.js';
import { CLI, strata, strataOk } from '../helpers/cli.js';
import { buildFixture, nixEnv, runTool, skopeoInspectConfig, skopeoInspectRaw, tmpDir } from '../helpers/store.js';

// strata inspect and strata verify on images of every format, and verify
// on copies with one byte flipped where each kind of digest guards it.

let app: string;
let work: string;
let plan: { layers: { paths: string[] }[] };

before(() => {
  app = buildFixture('app');
  work = tmpDir('strata-inspect-verify-');
  plan = JSON.parse(strataOk(['plan', app, '--max-layers', '4', '--format', 'json']).stdout) as { layers: { paths: string[] }[] };
  const appArgs = ['image', app, '--name', 'app', '--tag', '1', '--max-layers', '4', '--entrypoint', `${app}/bin/hello`, '--env', 'A=1'];
  strataOk([...appArgs, '--to', `oci:${work}/gzip:app`, '--compression', 'gzip']);
  strataOk([...appArgs, '--to', `oci:${work}/zstd:app`, '--compression', 'zstd']);
  strataOk([...appArgs, '--to', `oci-archive:${work}/app.oci.tar`]);
  strataOk([...appArgs, '-o', `${work}/app.tar`]);
  runTool('sh', ['-c', `gzip -c "${work}/app.tar" > "${work}/app.tar.gz" && zstd -q -c "${work}/app.tar" > "${work}/app.tar.zst"`]);
  runTool('skopeo', ['--insecure-policy', 'copy', '-q', `oci:${work}/gzip:app`, `docker-archive:${work}/skopeo.tar:app:1`]);
  runTool('skopeo', ['--insecure-policy', 'copy', '-q', `docker-archive:${work}/app.tar`, `oci:${work}/skopeo-oci:app`]);
});

/** Each format, and the name skopeo reads it by; WORK stands for the work directory. */
const IMAGES: [string, string][] = [
  ['oci:WORK/gzip:app', 'oci:WORK/gzip:app'],
  ['WORK/zstd', 'oci:WORK/zstd:app'],
  ['oci-archive:WORK/app.oci.tar', 'oci-archive:WORK/app.oci.tar'],
  ['WORK/app.tar', 'docker-archive:WORK/app.tar'],
  ['docker-archive:WORK/app.tar.gz', 'docker-archive:WORK/app.tar'],
  ['WORK/app.tar.zst', 'docker-archive:WORK/app.tar'],
  ['WORK/skopeo.tar', 'docker-archive:WORK/skopeo.tar'],
  ['oci:WORK/skopeo-oci:app', 'oci:WORK/skopeo-oci:app'],
];
const at = (ref: string): string => ref.replace('WORK', work);

for (const [ref, skopeoRef] of IMAGES) {
  test(`inspect ${ref}: layers with their store paths, digests as skopeo sees them, the config`, () => {
    const [name, skopeoName] = [at(ref), at(skopeoRef)];
    const inspection = JSON.parse(strataOk(['inspect', name, '--json']).stdout);
    const manifest = skopeoInspectRaw(skopeoName);
    const config = skopeoInspectConfig(skopeoName);
    assert.deepEqual(inspection.layers.map((l: { storePaths: string[] }) => l.storePaths), plan.layers.map((l) => l.paths));
    assert.deepEqual(inspection.layers.map((l: { digest: string; size: number }) => `${l.digest} ${l.size}`), manifest.layers.map((l: { digest: string; size: number }) => `${l.digest} ${l.size}`));
    assert.deepEqual(inspection.layers.map((l: { diffId: string }) => l.diffId), config.rootfs.diff_ids);
    assert.deepEqual(inspection.layers.map((l: { index: number }) => l.index), [1, 2, 3]);
    assert.deepEqual(inspection.config.Entrypoint, [`${app}/bin/hello`]);
    assert.deepEqual(inspection.config.Env, ['A=1']);
    assert.equal(inspection.config.architecture, 'amd64');
    assert.equal(inspection.config.os, 'linux');
    assert.equal(inspection.config.created, config.created);
    assert.equal(inspection.platform, 'linux/amd64');
    assert.deepEqual(inspection.total, { layers: 3, size: manifest.layers.reduce((s: number, l: { size: number }) => s + l.size, 0) });

    const text = strataOk(['inspect', name]).stdout;
    const blocks = text.split('\n\n');
    assert.match(blocks[0]!, new RegExp(`entrypoint  \\["${app}/bin/hello"\\]`));
    assert.match(blocks[0]!, /^layers {6}3, /m);
    for (const [i, layer] of plan.layers.entries()) {
      assert.match(blocks[i + 1]!, new RegExp(`^layer ${i + 1} `));
      for (const path of layer.paths) assert.ok(blocks[i + 1]!.includes(`\n  ${path}`), `${path} under layer ${i + 1}:\n${text}`);
    }
  });

  test(`verify ${ref}: ok`, () => {
    assert.equal(strataOk(['verify', at(ref)]).stdout, 'ok: 3 layers verified\n');
  });
}

/** A copy of `file` with the byte at `offset` changed. */
function flipped(file: string, offset: number, copy: string): string {
  const bytes = readFileSync(file);
  bytes[offset] ^= 0x20;
  writeFileSync(copy, bytes);
  return copy;
}

/** A copy of the gzip layout with one blob's byte flipped. */
function layoutWithFlip(tag: string, digest: string): string {
  const dir = join(work, `flip-${tag}`);
  cpSync(join(work, 'gzip'), dir, { recursive: true });
  const blob = join(dir, 'blobs', 'sha256', digest.slice(7));
  flipped(blob, Math.floor(readFileSync(blob).length / 2), blob);
  return dir;
}

function damaged(name: string, message: RegExp): void {
  const r = strata(['verify', name]);
  assert.equal(r.status, 4, r.stderr);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /^strata: [^\n]+\n$/);
  assert.match(r.stderr, message);
}

test('verify: a flipped byte in a layer blob, the config or the manifest of a layout is named (exit 4)', () => {
  const manifest = skopeoInspectRaw(`oci:${work}/gzip:app`);
  const layer = manifest.layers[1].digest as string;
  damaged(layoutWithFlip('layer', layer), new RegExp(`layer 2 \\(blobs/sha256/${layer.slice(7)}\\): its blob's digest is sha256:[0-9a-f]{64} \\(\\d+ bytes\\), not ${layer}`));
  const config = manifest.config.digest as string;
  damaged(layoutWithFlip('config', config), new RegExp(`config blobs/sha256/${config.slice(7)}: its digest is sha256:[0-9a-f]{64} \\(\\d+ bytes\\), not ${config}`));
  const index = JSON.parse(readFileSync(join(work, 'gzip', 'index.json'), 'utf8'));
  const manifestDigest = index.manifests[0].digest as string;
  damaged(layoutWithFlip('manifest', manifestDigest), new RegExp(`manifest blobs/sha256/${manifestDigest.slice(7)}: its digest is`));
});

test('verify: a flipped byte in a docker-archive layer member or config, or an OCI archive member, is named (exit 4)', async () => {
  const members = await indexTar(join(work, 'app.tar'));
  const layer = members[2]!;
  damaged(flipped(join(work, 'app.tar'), layer.offset + 700, join(work, 'flip-member.tar')), new RegExp(`layer 3 \\(${layer.name.replace('.', '\\.')}\\): its blob's digest is`));
  const config = members.find((m) => m.name.endsWith('.json') && m.name !== 'manifest.json')!;
  damaged(flipped(join(work, 'app.tar'), config.offset + 20, join(work, 'flip-config.tar')), new RegExp(`config sha256:${config.name.slice(0, 64)}: its digest is`));

  const ociMembers = await indexTar(join(work, 'app.oci.tar'));
  const blob = ociMembers.find((m) => m.name.startsWith('blobs/sha256/') && m.size > 100_000)!;
  damaged(flipped(join(work, 'app.oci.tar'), blob.offset + 1234, join(work, 'flip.oci.tar')), new RegExp(`\\(${blob.name}\\): its blob's digest is`));

  const gz = readFileSync(join(work, 'app.tar.gz'));
  damaged(flipped(join(work, 'app.tar.gz'), Math.floor(gz.length / 2), join(work, 'flip.tar.gz')), /flip\.tar\.gz: cannot gzip-decompress it/);
});

test('verify: missing blobs, a layer count that disagrees with diff_ids, unknown media types (exit 4); no image at all (exit 2)', () => {
  const manifest = skopeoInspectRaw(`oci:${work}/gzip:app`);
  const missing = join(work, 'missing-layer');
  cpSync(join(work, 'gzip'), missing, { recursive: true });
  rmSync(join(missing, 'blobs', 'sha256', manifest.layers[0].digest.slice(7)));
  damaged(missing, new RegExp(`layer 1 blob ${manifest.layers[0].digest} is missing`));

  const unpacked = join(work, 'unpacked');
  runTool('mkdir', ['-p', unpacked]);
  runTool('tar', ['-xf', join(work, 'app.tar'), '-C', unpacked]);
  const entries = JSON.parse(readFileSync(join(unpacked, 'manifest.json'), 'utf8'));
  entries[0].Layers.pop();
  writeFileSync(join(unpacked, 'manifest.json'), JSON.stringify(entries));
  const short = join(work, 'short.tar');
  runTool('tar', ['-cf', short, '-C', unpacked, '.']);
  damaged(short, /manifest lists 2 layers but the config has 3 diff_ids/);

  // A layout whose manifest names a layer media type strata does not know (its digests fixed up).
  const odd = join(work, 'odd-type');
  cpSync(join(work, 'gzip'), odd, { recursive: true });
  const oddManifest = Buffer.from(JSON.stringify({ ...manifest, layers: [{ ...manifest.layers[0], mediaType: 'application/x-unknown' }, ...manifest.layers.slice(1)] }));
  const digest = runTool('sha256sum', [], { input: oddManifest }).stdout.slice(0, 64);
  writeFileSync(join(odd, 'blobs', 'sha256', digest), oddManifest);
  writeFileSync(join(odd, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: manifest.mediaType, digest: `sha256:${digest}`, size: oddManifest.length }] }));
  damaged(odd, /layer 1: layer media type application\/x-unknown is not a tar layer strata knows/);

  const nothing = strata(['verify', join(work, 'nothing-here')]);
  assert.equal(nothing.status, 2);
  assert.match(nothing.stderr, /^strata: .*nothing-here: cannot open \(ENOENT\)\n$/);
});

test('inspect and verify a multi-platform index: verify checks every image, inspect takes --platform', () => {
  const confs = ['amd64', 'arm64'].map((arch) => {
    const file = join(work, `${arch}.json`);
    strataOk(['conf', app, '--architecture', arch, '--env', `ARCH=${arch}`, '--max-layers', '4', '-o', file]);
    return file;
  });
  const index = `oci:${work}/multi`;
  // The arm64 image holds the same amd64 files: only its metadata differs.
  strataOk(['stream', ...confs, '--to', `${index}:both`, '--compression', 'gzip', '--allow-foreign-binaries']);
  // Both images share their layers: each is read once.
  assert.equal(strataOk(['verify', index]).stdout, 'ok: 3 layers verified\n');
  const ambiguous = strata(['inspect', index]);
  assert.equal(ambiguous.status, 2);
  assert.match(ambiguous.stderr, /holds images for several platforms \(linux\/amd64 \(both\), linux\/arm64 \(both\)\); choose one with --platform\n$/);
  const arm = JSON.parse(strataOk(['inspect', index, '--platform', 'linux/arm64', '--json']).stdout);
  assert.equal(arm.platform, 'linux/arm64');
  assert.deepEqual(arm.config.Env, ['ARCH=arm64']);
  const bad = strata(['inspect', index, '--platform', 'arm64']);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--platform arm64: expected OS\/ARCH\[\/VARIANT\]/);
});

test('an archive on standard input (-), plain, gzip or zstd: inspect, verify and export read it in one pass, as they read the file; a cut pipe is refused, no scratch left', () => {
  const scratch = join(work, 'stdin-scratch');
  mkdirSync(scratch);
  const piped = (args: string[], input: Buffer) => {
    const r = spawnSync(process.execPath, [CLI, ...args], { input, env: { ...nixEnv(), TMPDIR: scratch }, maxBuffer: 1 << 30 });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr.toString('utf8') };
  };
  const fromFile = JSON.parse(strataOk(['inspect', join(work, 'app.tar'), '--json']).stdout);
  const exported = strataOk(['export', join(work, 'app.tar')]).stdoutBytes;
  for (const file of ['app.tar', 'app.tar.gz', 'app.tar.zst']) {
    const bytes = readFileSync(join(work, file));
    const inspect = piped(['inspect', '-', '--json'], bytes);
    assert.equal(inspect.status, 0, inspect.stderr);
    assert.deepEqual({ ...JSON.parse(inspect.stdout.toString('utf8')), name: '' }, { ...fromFile, name: '' }, `${file} on stdin`);
    const verify = piped(['verify', '-'], bytes);
    assert.equal(verify.status, 0, verify.stderr);
    assert.match(verify.stdout.toString('utf8'), /^ok: 3 layers verified/);
    const exportRun = piped(['export', '-'], bytes);
    assert.equal(exportRun.status, 0, exportRun.stderr);
    assert.ok(exportRun.stdout.equals(exported), `export of ${file} on stdin writes the file system export of the file writes`);
  }
  const plain = readFileSync(join(work, 'app.tar'));
  const cut = piped(['inspect', '-'], plain.subarray(0, Math.floor(plain.length / 2)));
  assert.equal(cut.status, 2);
  assert.match(cut.stderr, /^strata: standard input: not a whole tar archive \(.+\); expected a docker-archive or an OCI archive/);
  const gz = readFileSync(join(work, 'app.tar.gz'));
  const cutGz = piped(['verify', '-'], gz.subarray(0, Math.floor(gz.length / 2)));
  assert.equal(cutGz.status, 4);
  assert.match(cutGz.stderr, /^strata: standard input: cannot gzip-decompress it \(/);
  assert.deepEqual(readdirSync(scratch), []);
});

/** A copy of the gzip layout whose manifest is `edit`ed (its digest, the index fixed up). */
function layoutWithManifest(tag: string, edit: (manifest: any) => any): string {
  const dir = join(work, `manifest-${tag}`);
  cpSync(join(work, 'gzip'), dir, { recursive: true });
  const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8'));
  const bytes = Buffer.from(JSON.stringify(edit(JSON.parse(readFileSync(join(dir, 'blobs', 'sha256', index.manifests[0].digest.slice(7)), 'utf8')))));
  const digest = runTool('sha256sum', [], { input: bytes }).stdout.slice(0, 64);
  writeFileSync(join(dir, 'blobs', 'sha256', digest), bytes);
  index.manifests[0] = { ...index.manifests[0], digest: `sha256:${digest}`, size: bytes.length };
  writeFileSync(join(dir, 'index.json'), JSON.stringify(index));
  return dir;
}

test('verify: a layer key whose diff-id or compression is not the layer\'s is named (exit 4), as a later push would trust it', () => {
  const manifest = skopeoInspectRaw(`oci:${work}/gzip:app`);
  const diffIds = skopeoInspectConfig(`oci:${work}/gzip:app`).rootfs.diff_ids as string[];
  const DIFF_ID = 'dev.strata.layer.diff-id';
  // The store layers carry keys that name their own diff_ids (verify passes on the layout as written, above).
  assert.deepEqual(manifest.layers.slice(0, 2).map((l: any) => l.annotations[DIFF_ID]), diffIds.slice(0, 2));
  const annotate = (i: number, key: string, value: string) => (m: any) => ({
    ...m,
    layers: m.layers.map((l: any, j: number) => (j === i ? { ...l, annotations: { ...l.annotations, [key]: value } } : l)),
  });
  damaged(
    layoutWithManifest('key-diff-id', annotate(0, DIFF_ID, diffIds[1]!)),
    new RegExp(`layer 1 \\(blobs/sha256/${manifest.layers[0].digest.slice(7)}\\): its key names diff_id ${diffIds[1]}, the config ${diffIds[0]}; the image's layer keys are wrong`),
  );
  damaged(
    layoutWithManifest('key-compression', annotate(1, 'dev.strata.layer.compression', 'zstd/3')),
    /layer 2 \(blobs\/sha256\/[0-9a-f]{64}\): its key names compression zstd\/3, the blob is application\/vnd\.oci\.image\.layer\.v1\.tar\+gzip; the image's layer keys are wrong/,
  );
});
