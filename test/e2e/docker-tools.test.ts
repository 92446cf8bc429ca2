/**
 * nix/'s dockerTools through the README's overlay line, over the stand-in
 * nixpkgs (test/fixtures/fake-pkgs.nix and fake-lib.nix), built with real
 * nix-build: expressions written from nixpkgs' dockerTools documentation
 * (test/fixtures/docker-tools.nix), run unpacked and in docker, containerd
 * and podman.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gunzipSync } from 'node:zlib';

import { podmanRun, TestContainerd, TestDockerd } from '../helpers/engines.js';
import { REPO_ROOT, nixEnv, podman, podmanLoad, runTool, tmpDir, unpackAndRun, unpackImage } from '../helpers/store.js';

const FIXTURE = join(REPO_ROOT, 'test', 'fixtures', 'docker-tools.nix');
const ARGS = ['--argstr', 'repo', REPO_ROOT, '--argstr', 'node', process.execPath];

function build(attr: string): string {
  for (let attempt = 1; ; attempt++) {
    const r = runTool('nix-build', [FIXTURE, ...ARGS, '-A', attr, '--no-out-link'], { env: nixEnv(), allowFailure: true });
    if (r.status === 0) return r.stdout.trim().split('\n').pop()!;
    if (attempt < 3 && /failed due to signal 9/.test(r.stderr)) continue;
    throw new Error(`nix-build -A ${attr}: exit ${r.status}\n${r.stderr}`);
  }
}

function buildFails(attr: string): string {
  const r = runTool('nix-build', [FIXTURE, ...ARGS, '-A', attr, '--no-out-link'], { env: nixEnv(), allowFailure: true });
  assert.notEqual(r.status, 0, `${attr} should not build`);
  return r.stderr;
}

/** A Nix expression over the fixture's attributes (`t`), as JSON. */
function evalJson(expr: string): any {
  const e = `let t = import ${FIXTURE} { repo = ${JSON.stringify(REPO_ROOT)}; node = ${JSON.stringify(process.execPath)}; }; in ${expr}`;
  return JSON.parse(runTool('nix-instantiate', ['--eval', '--strict', '--json', '-E', e], { env: nixEnv() }).stdout);
}

/** A gzipped (or plain) archive as a plain tar file. */
function plainTar(file: string): string {
  const bytes = readFileSync(file);
  const out = join(tmpDir('strata-dt-'), 'image.tar');
  writeFileSync(out, bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipSync(bytes) : bytes);
  return out;
}

function manifest(tar: string): { Config: string; RepoTags: string[]; Layers: string[] }[] {
  return JSON.parse(execFileSync('tar', ['-xOf', tar, 'manifest.json'], { encoding: 'utf8' }));
}

describe('dockerTools through the overlay line', () => {
  test('every function takes nixpkgs\' arguments: lib.functionArgs lists them, unknown ones are refused', () => {
    const lib = `(import ${join(REPO_ROOT, 'test', 'fixtures', 'fake-lib.nix')})`;
    const args = evalJson(`builtins.mapAttrs (n: f: ${lib}.functionArgs f) { inherit (t.dockerTools) streamLayeredImage buildImage pullImage exportImage streamNixShellImage; }`);
    assert.deepEqual(Object.keys(args.streamLayeredImage).sort(), ['architecture', 'config', 'contents', 'created', 'debug', 'enableFakechroot', 'extraCommands', 'fakeRootCommands', 'fromImage', 'gid', 'gname', 'includeNixDB', 'includeStorePaths', 'layeringPipeline', 'maxLayers', 'meta', 'mtime', 'name', 'passthru', 'tag', 'uid', 'uname']);
    assert.equal(args.streamLayeredImage.name, false, 'name is required');
    assert.equal(args.streamLayeredImage.tag, true);
    assert.deepEqual(Object.keys(args.buildImage).sort(), ['architecture', 'buildVMMemorySize', 'compressor', 'config', 'contents', 'copyToRoot', 'created', 'diskSize', 'extraCommands', 'fromImage', 'fromImageName', 'fromImageTag', 'gid', 'includeNixDB', 'keepContentsDirlinks', 'meta', 'name', 'runAsRoot', 'tag', 'uid']);
    // As lib.fetchers.withNormalizedHash shows a fetcher: hash (or sha256) in place of outputHash.
    assert.deepEqual(args.pullImage, { arch: true, finalImageName: true, finalImageTag: true, hash: false, imageDigest: false, imageName: false, name: true, os: true, tlsVerify: true });
    assert.deepEqual(args.exportImage, { diskSize: true, fromImage: false, fromImageName: true, fromImageTag: true, name: true });
    assert.deepEqual(Object.keys(args.streamNixShellImage).sort(), ['command', 'drv', 'gid', 'homeDirectory', 'name', 'run', 'shell', 'tag', 'uid']);
    for (const f of ['streamLayeredImage', 'buildLayeredImage', 'buildImage', 'buildImageWithNixDb', 'buildLayeredImageWithNixDb']) {
      const r = runTool('nix-instantiate', ['--eval', '-E', `let t = import ${FIXTURE} { repo = "${REPO_ROOT}"; node = "${process.execPath}"; }; in (t.dockerTools.${f} { name = "x"; strategy = "shared"; }).drvPath`], { env: nixEnv(), allowFailure: true });
      assert.notEqual(r.status, 0, f);
      assert.match(r.stderr, /called with unexpected argument 'strategy'/, f);
    }
  });

  test('nixpkgs\' helpers are nixpkgs\' own, passed through', () => {
    const same = evalJson('map (h: t.dockerTools.${h} == t.nixpkgsTools.${h} || (t.dockerTools.${h}.outPath or null) == (t.nixpkgsTools.${h}.outPath or "")) [ "fakeNss" "binSh" "caCertificates" "usrBinEnv" "shadowSetup" ]');
    assert.deepEqual(same, [true, true, true, true, true]);
  });

  test('buildLayeredImage: loaded by podman, runs; .override rebuilds it with new arguments; passthru.imageTag', () => {
    const tar = plainTar(build('layered'));
    assert.match(podmanLoad(tar), /layered:latest/);
    assert.equal(unpackAndRun(tar, []).stdout, 'layered\n');
    assert.equal(unpackAndRun(tar, ['/usr/bin/env', 'echo', 'env']).stdout, 'env\n', 'usrBinEnv from contents');
    const other = plainTar(build('layeredOverridden'));
    assert.deepEqual(manifest(other)[0]!.RepoTags, ['layered:other']);
    assert.equal(unpackAndRun(other, []).stdout, 'overridden\n');
    assert.equal(evalJson('t.layeredOverridden.imageTag'), 'other');
    assert.equal(evalJson('t.layeredOverridden.override { tag = "third"; } == null'), false);
    assert.equal(evalJson('(t.layeredOverridden.override (old: { tag = old.tag + "2"; })).imageTag'), 'other2');
  });

  test('buildImage: one layer (copyToRoot and extraCommands), Env inherited from fromImage, closure files appended once', () => {
    const single = plainTar(build('single'));
    const m = manifest(single)[0]!;
    assert.equal(m.Layers.length, 1);
    assert.deepEqual(m.RepoTags, ['single:latest']);
    assert.equal(unpackAndRun(single, []).stdout, 'some content\n');
    assert.equal(evalJson('t.single.imageTag'), 'latest');
    assert.equal(evalJson('t.single.buildArgs.name'), 'single');

    const on = plainTar(build('onSingle'));
    const om = manifest(on)[0]!;
    assert.equal(om.Layers.length, 2);
    const tag = evalJson('t.onSingle.imageTag');
    assert.equal(tag, build('onSingle').slice('/nix/store/'.length, '/nix/store/'.length + 32), 'no tag: the hash of the output path, as nixpkgs');
    assert.deepEqual(om.RepoTags, [`on-single:${tag}`]);
    assert.match(podmanLoad(on), new RegExp(`on-single:${tag}`));
    const inspected = JSON.parse(podman(['image', 'inspect', `localhost/on-single:${tag}`]))[0];
    assert.deepEqual(inspected.Config.Env, ['B=2', 'A=1']);
    const run = unpackAndRun(on, []);
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /hello from strata/);
    const top = execFileSync('sh', ['-c', `tar -xOf '${on}' '${om.Layers[1]}' | tar -t`], { encoding: 'utf8' }).split('\n');
    const app = evalJson('t.fx.app.outPath') as string;
    assert.ok(top.includes('./bin/hello'), 'copyToRoot copied into the root');
    assert.ok(top.includes(`${app.slice(1)}/bin/hello`), 'its closure appended');
    assert.ok(!top.some((l) => l.startsWith('./my-file')), 'the base\'s files are not repeated');
  });

  test('buildImage refuses runAsRoot with what to use instead', () => {
    const err = buildFails('runAsRoot');
    assert.match(err, /runAsRoot needs the VM .*fakeRootCommands.*perms/);
  });

  test('buildImageWithNixDb and buildLayeredImageWithNixDb: a Nix database of the contents\' closure', () => {
    const app = evalJson('t.fx.app.outPath') as string;
    for (const attr of ['singleDb', 'withDb']) {
      const rootfs = unpackImage(plainTar(build(attr))).rootfs;
      const q = runTool('nix-store', ['--store', `local?root=${rootfs}`, '--query', '--requisites', app], { env: nixEnv() }).stdout.trim().split('\n');
      assert.equal(q.length, 5, attr);
    }
  });

  test('exportImage: the file system of the image, as the unpacked image holds it', () => {
    const fs = build('exported');
    const listed = execFileSync('tar', ['-tf', fs], { encoding: 'utf8' }).trim().split('\n');
    const rootfs = unpackImage(plainTar(build('onSingle'))).rootfs;
    const found = execFileSync('sh', ['-c', `cd '${rootfs}' && find . | LC_ALL=C sort`], { encoding: 'utf8' }).trim().split('\n');
    const norm = (l: string): string => l.replace(/^\.\/?/, '').replace(/\/$/, '');
    assert.deepEqual(listed.map(norm).sort(), found.map(norm).sort());
    assert.equal(execFileSync('tar', ['-xOf', fs, './my-file'], { encoding: 'utf8' }), 'some content\n');
  });

  test('mergeImages: one gzipped archive podman loads both images from', () => {
    const merged = plainTar(build('merged'));
    assert.deepEqual(manifest(merged).map((e) => e.RepoTags), [['layered:latest'], ['single:latest']]);
    const loaded = podman(['load', '-i', merged]);
    assert.match(loaded, /layered:latest/);
    assert.match(loaded, /single:latest/);
  });

  test('pullImage: nixpkgs\' fixed-output shape; a registry that is not there fails the build on strata pull\'s one line', () => {
    assert.equal(evalJson('t.pulled.outputHash'), 'sha256-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=');
    assert.equal(evalJson('t.pulled.name'), 'docker-image-nix-2.19.3.tar');
    assert.equal(evalJson('t.pulled.outputHashMode'), 'flat');
    assert.equal(evalJson('t.pulled.sourceURL'), 'docker://127.0.0.1:5000/nixos/nix@sha256:' + '0'.repeat(64));
    // Pulled from a real registry in registry-pull.test.ts.
    const err = buildFails('pulled');
    assert.match(err, /strata: docker:\/\/127\.0\.0\.1:5000\/nixos\/nix@sha256:0{64}: cannot connect to 127\.0\.0\.1:5000: [^\n]*; is a registry listening there\?/);
  });

  test('streamNixShellImage and buildNixShellImage: the derivation\'s environment, `run` in it', () => {
    const archive = join(tmpDir('strata-dt-'), 'shell.tar');
    writeFileSync(archive, execFileSync(build('nixShell'), { maxBuffer: 1 << 30, env: nixEnv() }));
    const m = manifest(archive)[0]!;
    assert.deepEqual(m.RepoTags, ['greeter-env:latest']);
    const out = evalJson('t.shellDrv.outPath');
    const run = unpackAndRun(archive, []);
    assert.equal(run.stdout, `hello from the shell, home /build, out=${out}\n`, run.stderr);
    // Run by an engine: as the build user, in the build directory (the chroot above runs as root in /).
    const config = JSON.parse(execFileSync('tar', ['-xOf', archive, m.Config], { encoding: 'utf8' })).config;
    assert.equal(config.User, '1000:1000');
    assert.equal(config.WorkingDir, '/build');
    const built = build('nixShellBuilt');
    assert.ok(built.endsWith('-greeter-env.tar'), built);
    assert.match(podmanLoad(built), /greeter-env:latest/);
  });
});

describe('dockerTools images in the real engines', () => {
  let dockerd: TestDockerd;
  let containerd: TestContainerd;
  before(async () => {
    [dockerd, containerd] = await Promise.all([TestDockerd.start(), TestContainerd.start()]);
  });
  after(async () => {
    await Promise.all([dockerd?.stop(), containerd?.stop()]);
  });

  test('buildLayeredImage and buildImage (on a base) run in docker, containerd and podman', () => {
    const onSingleTag = evalJson('t.onSingle.imageTag') as string;
    const cases = [
      { attr: 'layered', ref: 'layered:latest', out: 'layered\n' },
      { attr: 'onSingle', ref: `on-single:${onSingleTag}`, out: /hello from strata/ },
    ];
    for (const { attr, ref, out } of cases) {
      const tar = plainTar(build(attr));
      const check = (engine: string, run: { stdout: string; stderr: string; status: number }): void => {
        assert.equal(run.status, 0, `${engine} ${attr}: ${run.stderr}`);
        if (typeof out === 'string') assert.equal(run.stdout, out, `${engine} ${attr}`);
        else assert.match(run.stdout, out, `${engine} ${attr}`);
      };
      assert.equal(dockerd.load(tar), ref);
      check('docker', dockerd.run(ref));
      const [name] = containerd.import(tar);
      assert.equal(name, `docker.io/library/${ref}`);
      check('containerd', containerd.run(name!));
      assert.match(podmanLoad(tar), new RegExp(ref.replace(/[.$]/g, '\\$&')));
      check('podman', podmanRun(`localhost/${ref}`));
    }
  });

  test('mergeImages: docker loads both images from the one archive and runs them', () => {
    const merged = plainTar(build('merged'));
    const loaded = dockerd.docker(['load', '-i', merged]).stdout;
    assert.match(loaded, /Loaded image: layered:latest/);
    assert.match(loaded, /Loaded image: single:latest/);
    assert.equal(dockerd.run('layered:latest').stdout, 'layered\n');
    assert.equal(dockerd.run('single:latest').stdout, 'some content\n');
  });
});
