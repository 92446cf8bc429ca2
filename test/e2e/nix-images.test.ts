/**
 * nix/default.nix built with real nix-build: the library's expressions over
 * test/fixtures/fake-pkgs.nix (plain derivations standing in for nixpkgs)
 * and the strata of this working tree (dist/), images of the fixture store.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { gunzipSync } from 'node:zlib';

import { strataOk } from '../helpers/cli.js';
import { TestRegistry } from '../helpers/registry.js';
import { REPO_ROOT, buildFixture, nixEnv, queryRequisites, runTool, skopeoInspect, tmpDir, unpackAndRun, unpackImage } from '../helpers/store.js';

const IMAGES_NIX = join(REPO_ROOT, 'test', 'fixtures', 'nix-images.nix');

function nixArgs(): string[] {
  return ['--argstr', 'repo', REPO_ROOT, '--argstr', 'node', process.execPath];
}

const built = new Map<string, string>();

/** nix-build test/fixtures/nix-images.nix -A attr (retrying Nix's stray SIGKILL, as helpers/store.ts). */
function buildImage(attr: string): string {
  let path = built.get(attr);
  if (path !== undefined) return path;
  for (let attempt = 1; ; attempt++) {
    const r = runTool('nix-build', [IMAGES_NIX, ...nixArgs(), '-A', attr, '--no-out-link'], { env: nixEnv(), allowFailure: true });
    if (r.status === 0) {
      path = r.stdout.trim().split('\n').pop()!;
      built.set(attr, path);
      return path;
    }
    if (attempt < 3 && /failed due to signal 9/.test(r.stderr)) continue;
    throw new Error(`nix-build -A ${attr}: exit ${r.status}\n${r.stderr}`);
  }
}

/** nix-instantiate --eval --strict --json of an attribute of nix-images.nix. */
function evalJson(expr: string): any {
  const r = runTool('nix-instantiate', ['--eval', '--strict', '--json', IMAGES_NIX, ...nixArgs(), '-A', expr], { env: nixEnv() });
  return JSON.parse(r.stdout);
}

/** Run a stream script (with extra arguments), its docker-archive written to a file. */
function runStream(script: string, args: string[] = []): string {
  const file = join(tmpDir('strata-nix-'), 'image.tar');
  writeFileSync(file, execFileSync(script, args, { maxBuffer: 1 << 30, env: nixEnv() }));
  return file;
}

function tarMember(archive: string, member: string): Buffer {
  return execFileSync('tar', ['-xOf', archive, member], { maxBuffer: 1 << 30 });
}

function manifestOf(archive: string): { Config: string; RepoTags: string[]; Layers: string[] } {
  return JSON.parse(tarMember(archive, 'manifest.json').toString('utf8'))[0];
}

/** The registry npm fetches from here, as `npm config get registry` prints it. */
function npmRegistry(): string {
  return execFileSync('npm', ['config', 'get', 'registry'], { encoding: 'utf8' }).trim();
}

/** A Nix string literal. */
function nixString(s: string): string {
  return JSON.stringify(s).replace(/\$\{/g, '\\${');
}

/** nixpkgs' functions nix/package.nix calls, as stand-ins that return their arguments. */
const PACKAGE_STUB = `{
  lib = { fileset = { toSource = a: "src"; unions = a: a; maybeMissing = a: a; }; licenses.mit = "mit"; platforms.linux = [ ]; };
  buildNpmPackage = a: a;
  nodejs = "nixpkgs-default-nodejs";
  importNpmLock = { __functor = self: a: a; npmConfigHook = "hook"; };
}`;

/** nix/package.nix called with the stand-ins and \`args\`, \`expr\` (over its result \`p\`) as JSON. */
function evalPackageNix(args: string, expr: string): any {
  const e = `let p = import ${join(REPO_ROOT, 'nix', 'package.nix')} (${PACKAGE_STUB} // ${args}); in ${expr}`;
  return JSON.parse(runTool('nix-instantiate', ['--eval', '--strict', '--json', '-E', e], { env: nixEnv() }).stdout);
}

describe('nix/default.nix with real nix-build', () => {
  test('every .nix file of nix/, templates/ and the fixtures parses', () => {
    const files = [
      ...readdirSync(join(REPO_ROOT, 'nix')).filter((f) => f.endsWith('.nix')).map((f) => join(REPO_ROOT, 'nix', f)),
      ...readdirSync(join(REPO_ROOT, 'test', 'fixtures')).filter((f) => f.endsWith('.nix')).map((f) => join(REPO_ROOT, 'test', 'fixtures', f)),
    ];
    assert.ok(files.some((f) => f.endsWith('package.nix')));
    for (const f of files) runTool('nix-instantiate', ['--parse', f], { env: nixEnv() });
  });

  test('streamLayeredImage: an executable stream script with passthru imageTag, conf, streamScript, isExe', () => {
    const script = buildImage('app');
    const passthru = evalJson('app.isExe');
    assert.equal(passthru, true);
    const tag = evalJson('app.imageTag');
    const conf = evalJson('app.conf.outPath');
    assert.match(tag, /^[0-9a-z]{32}$/);
    // nixpkgs: a null tag is the hash part of the conf's output path.
    assert.equal(tag, conf.slice('/nix/store/'.length, '/nix/store/'.length + 32));
    assert.ok(readFileSync(script, 'utf8').includes(conf));
    const confJson = JSON.parse(readFileSync(conf, 'utf8'));
    assert.equal(confJson.repo_tag, `strata-app:${tag}`, 'name lowercased, as nixpkgs');
    assert.equal(confJson.store_layer_digests.length, confJson.store_layers.length, 'digests computed in the conf derivation');
    assert.equal(confJson.uid, 1000);

    const archive = runStream(script);
    const manifest = manifestOf(archive);
    assert.deepEqual(manifest.RepoTags, [`strata-app:${tag}`], 'passthru.imageTag is the tag in the image');
    assert.equal(manifest.Layers.length, 3, 'maxLayers = 3');
    const inspected = skopeoInspect(`docker-archive:${archive}`);
    assert.equal(inspected.Layers.length, 3);
    assert.deepEqual(inspected.Env, ['GREETING=hi']);

    const run = unpackAndRun(archive, []);
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /hello from strata/);
    const motd = unpackAndRun(archive, ['/bin/cat', '/etc/motd']);
    assert.equal(motd.stdout, 'made by extraCommands\n', 'extraCommands ran in the customisation layer; /bin from contents');

    // -t overrides the tag, as the stream script passes "$@" on.
    assert.deepEqual(manifestOf(runStream(script, ['-t', 'other:tag'])).RepoTags, ['other:tag']);
  });

  test('the same image, byte for byte, as strata image of the same closure and customisation layer', () => {
    const script = buildImage('app');
    const confPath = evalJson('app.conf.outPath');
    const conf = JSON.parse(readFileSync(confPath, 'utf8'));
    const archive = runStream(script);
    const dir = tmpDir('strata-nix-cmp-');
    const direct = join(dir, 'direct.tar');
    strataOk([
      'image', buildFixture('app'), buildFixture('busybox'),
      '--strategy', 'popularity', '--max-layers', '3', '--customisation', conf.customisation_layer,
      '--config', JSON.stringify(conf.config), '--name', 'strata-app', '--tag', conf.repo_tag.split(':')[1],
      '--uid', '1000', '--gid', '100', '--uname', 'app', '--gname', 'users', '--architecture', conf.architecture,
      '-o', direct,
    ]);
    const plan = JSON.parse(strataOk(['plan', buildFixture('app'), buildFixture('busybox'), '--strategy', 'popularity', '--max-layers', '3', '--format', 'json']).stdout);
    assert.deepEqual(conf.store_layers, plan.layers.map((l: { paths: string[] }) => l.paths), 'popularity plan identical');
    assert.deepEqual(manifestOf(archive).Layers, manifestOf(direct).Layers, 'same layer digests');
    const sha = (f: string) => createHash('sha256').update(readFileSync(f)).digest('hex');
    assert.equal(sha(archive), sha(direct));
  });

  test('buildLayeredImage: a gzipped docker-archive with passthru.stream and imageTag', () => {
    const gz = buildImage('appGz');
    assert.ok(gz.endsWith('-strata-app.tar.gz'));
    assert.equal(evalJson('appGz.imageTag'), '1.0');
    assert.ok(evalJson('appGz.stream.isExe'));
    const bytes = readFileSync(gz);
    assert.equal(bytes[0], 0x1f);
    assert.equal(bytes[1], 0x8b);
    // This skopeo does not decompress archives; strata reads them as they are.
    assert.match(strataOk(['verify', gz]).stdout, /ok: 2 layers verified/);
    const tar = join(tmpDir('strata-nix-gz-'), 'image.tar');
    writeFileSync(tar, gunzipSync(bytes));
    assert.equal(skopeoInspect(`docker-archive:${tar}`).Layers.length, 2);
    assert.deepEqual(manifestOf(tar).RepoTags, ['strata-app:1.0']);
    const run = unpackAndRun(tar, []);
    assert.equal(run.stdout, 'gz\n');
  });

  test('fromImage: a second image shares the first one\'s layers; created "now"', () => {
    const baseTar = join(tmpDir('strata-nix-base-'), 'base.tar');
    writeFileSync(baseTar, gunzipSync(readFileSync(buildImage('appGz'))));
    const base = manifestOf(baseTar);
    const script = buildImage('onTop');
    const streamed = Date.now();
    const archive = runStream(script);
    const finished = Date.now();
    const m = manifestOf(archive);
    assert.deepEqual(m.RepoTags, ['on-top:2.0']);
    assert.deepEqual(m.Layers.slice(0, base.Layers.length), base.Layers, 'base layers first, unchanged');
    assert.ok(m.Layers.length > base.Layers.length);
    const created = Date.parse(skopeoInspect(`docker-archive:${archive}`).Created);
    // "now" is when the stream ran (created has whole seconds).
    assert.ok(created >= Math.floor(streamed / 1000) * 1000 && created <= finished, `created ${created} while streaming ${streamed}..${finished}`);
    const run = unpackAndRun(archive, []);
    assert.equal(run.status, 0, run.stderr);
    const libA = evalJson('fx.lib-a.outPath');
    assert.equal(run.stdout, readFileSync(join(libA, 'share', 'lib-a', 'message'), 'utf8'));
  });

  test('includeStorePaths = false: only the customisation layer', () => {
    const m = manifestOf(runStream(buildImage('noStore')));
    assert.equal(m.Layers.length, 1);
  });

  test('buildImage (strata\'s own): perms applied, maxLayers respected', () => {
    const gz = buildImage('own');
    const tar = join(tmpDir('strata-nix-own-'), 'image.tar');
    writeFileSync(tar, gunzipSync(readFileSync(gz)));
    assert.equal(manifestOf(tar).Layers.length, 4);
    const conf = JSON.parse(readFileSync(evalJson('own.stream.conf.outPath'), 'utf8'));
    assert.deepEqual(conf.store_layers.slice(0, 2), [[evalJson('fx.data.outPath')], [evalJson('fx.busybox.outPath')]], 'explicit layers first');
    // Its conf derivation reads no layer (no digests recorded): the stream reads each file once, naming layers by their inputs.
    assert.equal(conf.store_layer_digests, undefined);
    // Its closure comes from .attrs.json, whose NAR hashes the conf keeps: the layers' keys are the same on any machine.
    const paths: string[] = conf.store_layers.flat();
    assert.deepEqual(Object.keys(conf.nar_hashes), [...paths].sort());
    for (const p of paths) assert.equal(conf.nar_hashes[p], `sha256:${runTool('nix-store', ['--dump-db', p], { env: nixEnv() }).stdout.split('\n')[1]}`, p);
    const diffIds: string[] = JSON.parse(tarMember(tar, manifestOf(tar).Config).toString('utf8')).rootfs.diff_ids;
    assert.equal(diffIds.length, 4);
    for (const name of manifestOf(tar).Layers.slice(0, 3)) {
      assert.match(name, /^[0-9a-f]{64}\/layer\.tar$/);
      assert.ok(!diffIds.includes(`sha256:${name.slice(0, 64)}`), `${name}: named by inputs, not by digest`);
    }
    const listing = runTool('sh', ['-c', `for l in $(tar -tf '${tar}' | grep layer.tar); do tar -xOf '${tar}' "$l" | tar -tvf - ; done`]).stdout;
    assert.match(listing, /-rwx------ 7\/root .*-app\/bin\/hello\n/);
  });

  test('buildImage format oci-archive with zstd layers', () => {
    const archive = buildImage('ownOci');
    assert.match(strataOk(['verify', `oci-archive:${archive}`]).stdout, /ok: 2 layers verified/);
    const raw = JSON.parse(runTool('skopeo', ['inspect', '--raw', `oci-archive:${archive}:3.0`]).stdout);
    assert.ok(raw.layers.every((l: { mediaType: string }) => l.mediaType.endsWith('+zstd')));
  });

  /** `tar -tv` of the image's last layer (the customisation layer), one line an entry. */
  function customisationListing(archive: string): string[] {
    const last = manifestOf(archive).Layers.at(-1)!;
    return runTool('sh', ['-c', `tar -xOf '${archive}' '${last}' | tar -tvf -`]).stdout.trim().split('\n');
  }

  test('fakeRootCommands run under fakeroot: chown, chmod and mknod are in the layer\'s headers', () => {
    const archive = runStream(buildImage('fakeRoot'));
    const entries = customisationListing(archive).map((l) => l.replace(/ +/g, ' '));
    assert.ok(entries.some((l) => /^-rwsr-xr-x 1000\/1000 22 1980-01-01 00:00 \.\/home\/app\/file$/.test(l)), entries.join('\n'));
    assert.ok(entries.some((l) => /^crw-r--r-- 0\/0 1,3 1980-01-01 00:00 \.\/dev\/null$/.test(l)), entries.join('\n'));
    assert.ok(entries.some((l) => /^lrwxrwxrwx 0\/0 0 .* \.\/bin\/sh -> \/nix\/store\/.*-busybox\/bin\/sh$/.test(l)), 'contents joined');
    // As unpacked by a real client: the owner and the setuid bit, the extraCommands file.
    const run = unpackAndRun(archive, ['/bin/ls', '-ln', '/home/app/file']);
    assert.match(run.stdout, /^-rwsr-xr-x +1 +1000 +1000 +22 /, run.stderr);
    assert.equal(unpackAndRun(archive, ['/bin/cat', '/home/app/file']).stdout, 'made by extraCommands\n');
  });

  test('enableFakechroot: fakeRootCommands see the tree at / and the store at its place', () => {
    const archive = runStream(buildImage('fakeChroot'));
    const entries = customisationListing(archive).map((l) => l.replace(/ +/g, ' '));
    assert.ok(entries.some((l) => /^-r--r--r-- 7\/7 17 .* \.\/from-store$/.test(l)), entries.join('\n'));
    assert.ok(entries.some((l) => / \.\/lib\/lib-a\.txt -> \/nix\/store\/.*-lib-a\/lib\/lib-a\.txt$/.test(l)), 'contents joined');
    assert.ok(!entries.some((l) => / \.\/nix\/store/.test(l)), 'the store is not in the customisation layer');
    const rootfs = unpackImage(archive).rootfs;
    assert.equal(readFileSync(join(rootfs, 'from-store'), 'utf8'), 'the data says hi\n');
  });

  test('includeNixDB: nix-store queries the closure of contents in the unpacked image', () => {
    const rootfs = unpackImage(runStream(buildImage('nixDb'))).rootfs;
    const app = evalJson('fx.app.outPath');
    const inImage = runTool('nix-store', ['--store', `local?root=${rootfs}`, '--query', '--requisites', app], { env: nixEnv() }).stdout.trim().split('\n');
    assert.deepEqual([...inImage].sort(), [...queryRequisites(app)].sort());
    assert.equal(inImage.length, 5, 'app, lib-a, lib-b, data, busybox');
    const refs = runTool('nix-store', ['--query', '--references', app], { env: { ...nixEnv(), NIX_STATE_DIR: join(rootfs, 'nix', 'var', 'nix') } }).stdout;
    assert.equal(refs, runTool('nix-store', ['--query', '--references', app], { env: nixEnv() }).stdout);
    assert.equal(readlinkSync(join(rootfs, 'nix/var/nix/gcroots/docker', app.slice('/nix/store/'.length))), app, 'contents are GC roots');
  });

  test('layeringPipeline: the store layers nixpkgs\' pipeline semantics give', () => {
    const conf = JSON.parse(readFileSync(buildImage('piped.conf'), 'utf8'));
    const [app, busybox, libA, libB, data] = ['app', 'busybox', 'lib-a', 'lib-b', 'data'].map((a) => evalJson(`fx.${a}.outPath`) as string);
    const bySize = (paths: string[]) => {
      const size = (p: string) => Number(runTool('nix-store', ['--query', '--size', p], { env: nixEnv() }).stdout);
      return [...paths].sort((a, b) => size(a) - size(b));
    };
    // split_paths lib-a: main {lib-a} (only lib-a reaches it), common {lib-b, data} (app reaches them
    // too), rest {app, busybox}; subcomponent_in lib-a keeps main as it is. Paths in ascending NAR size.
    assert.deepEqual(conf.store_layers, [[libA], bySize([libB!, data!]), bySize([app!, busybox!])]);
    const archive = runStream(buildImage('piped'));
    assert.equal(manifestOf(archive).Layers.length, 4);
    assert.match(strataOk(['verify', archive]).stdout, /ok: 4 layers verified/);
    assert.match(unpackAndRun(archive, [`${app}/bin/hello`]).stdout, /hello from strata/);
  });

  test('layeringPipeline: maxLayers is not checked, as nixpkgs checks it only for its own pipeline', () => {
    const conf = JSON.parse(readFileSync(buildImage('pipedOneLayer.conf'), 'utf8'));
    assert.deepEqual(conf.store_layers, JSON.parse(readFileSync(buildImage('piped.conf'), 'utf8')).store_layers);
    const r = runTool('nix-instantiate', [IMAGES_NIX, ...nixArgs(), '-A', 'oneLayer'], { env: nixEnv(), allowFailure: true });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /maxLayers .*greater than 1 .*\(current value: 1\)/);
  });

  test('extraCommands: the modes they set arrive in the image (not reset by Nix), owned by root as nixpkgs\' customisation layer', () => {
    const archive = runStream(buildImage('modes'));
    const entries = customisationListing(archive).map((l) => l.replace(/ +/g, ' '));
    assert.ok(entries.includes('drwxrwxrwt 0/0 0 1980-01-01 00:00 ./tmp/'), entries.join('\n'));
    assert.ok(entries.includes('-rw-r----- 0/0 15 1980-01-01 00:00 ./etc/shadow'), entries.join('\n'));
    assert.ok(entries.some((l) => /^lrwxrwxrwx 0\/0 0 .* \.\/bin\/sh -> \/nix\/store\/.*-busybox\/bin\/sh$/.test(l)), 'contents joined');
    // As a real client unpacks it: a /tmp anyone can write, sticky.
    assert.match(unpackAndRun(archive, ['/bin/ls', '-ld', '/tmp']).stdout, /^drwxrwxrwt /);
    // uid and gid are the store layers' owners.
    const store = runTool('sh', ['-c', `tar -xOf '${archive}' '${manifestOf(archive).Layers[0]}' | tar --numeric-owner -tvf - | head -3`]).stdout;
    assert.match(store, /^dr-xr-xr-x 1000\/100 /m);
  });

  test('buildLayeredImage compressor: "zstd" into NAME.tar.zst, "none" into NAME.tar, an unknown one refused', () => {
    const zst = buildImage('appZstd');
    assert.ok(zst.endsWith('-strata-app.tar.zst'), zst);
    assert.deepEqual([...readFileSync(zst).subarray(0, 4)], [0x28, 0xb5, 0x2f, 0xfd], 'zstd frame magic');
    const fromZst = join(tmpDir('strata-nix-zst-'), 'image.tar');
    writeFileSync(fromZst, execFileSync('zstd', ['-d', '-c', zst], { maxBuffer: 1 << 30 }));
    assert.deepEqual(manifestOf(fromZst).RepoTags, ['strata-app:1.0']);
    assert.equal(unpackAndRun(fromZst, []).stdout, 'zstd\n');

    const tar = buildImage('appNone');
    assert.ok(tar.endsWith('-strata-app.tar'), tar);
    assert.equal(readFileSync(tar).subarray(257, 262).toString('latin1'), 'ustar', 'a plain tar');
    assert.equal(unpackAndRun(tar, []).stdout, 'none\n');
    assert.equal(evalJson('appNone.imageTag'), '1.0');
    assert.ok(evalJson('appNone.stream.isExe'));

    const r = runTool('nix-instantiate', [IMAGES_NIX, ...nixArgs(), '-A', 'unknownCompressor'], { env: nixEnv(), allowFailure: true });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /in docker image x: compressor must be one of: \[gz none zstd\]/);
  });

  test('passthru.streamScript: an executable that takes the conf, as nixpkgs\' stream script', () => {
    const wrapped = runStream(buildImage('app'), ['-t', 'by:script']);
    const streamScript = buildImage('app.streamScript');
    assert.ok((statSync(streamScript).mode & 0o111) === 0o111, 'executable');
    const direct = runStream(streamScript, [evalJson('app.conf.outPath'), '-t', 'by:script']);
    assert.deepEqual(manifestOf(direct).RepoTags, ['by:script']);
    assert.ok(readFileSync(direct).equals(readFileSync(wrapped)), 'the same image as the stream result');
    assert.notEqual(runTool(streamScript, [], { env: nixEnv(), allowFailure: true }).status, 0, 'no conf, no image');
  });

  test('streamLayeredImage refuses an argument nixpkgs\' does not take', () => {
    const r = runTool('nix-instantiate', ['--eval', IMAGES_NIX, ...nixArgs(), '-A', 'unknownArgument.drvPath'], { env: nixEnv(), allowFailure: true });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /unexpected argument 'strategy'/);
  });

  test('passthru.push sends the image to a registry', async () => {
    const registry = await TestRegistry.start();
    try {
      const push = evalJson('app.push.outPath');
      buildImage('app.push');
      const r = runTool(push, [`docker://${registry.host}/nix/app:pushed`, '--tls-verify=false'], { env: nixEnv() });
      assert.match(r.stdout, /^sha256:[0-9a-f]{64}/);
      const inspected = JSON.parse(runTool('skopeo', ['inspect', '--tls-verify=false', `docker://${registry.host}/nix/app:pushed`]).stdout);
      assert.equal(inspected.Layers.length, 3);
    } finally {
      await registry.stop();
    }
  });
  test('nix/package.nix: buildNpmPackage with importNpmLock, a maintained nodejs, mainProgram strata (evaluated with stand-ins)', () => {
    const r = evalPackageNix(`{ npmRegistry = ${nixString(npmRegistry())}; }`, '{ inherit (p) pname version nodejs npmConfigHook; npmRoot = toString p.npmDeps.npmRoot; mainProgram = p.meta.mainProgram; }');
    assert.deepEqual(r, {
      pname: 'strata',
      version: JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')).version,
      nodejs: 'nixpkgs-default-nodejs',
      npmConfigHook: 'hook',
      npmRoot: REPO_ROOT,
      mainProgram: 'strata',
    });
  });

  test('nix/package.nix: every lock entry importNpmLock fetches gets npm\'s own tarball URL, from npmRegistry, and keeps its integrity', () => {
    const lock = JSON.parse(readFileSync(join(REPO_ROOT, 'package-lock.json'), 'utf8'));
    const entries = Object.entries(lock.packages as Record<string, Record<string, unknown>>).filter(([path]) => path !== '');
    assert.ok(entries.length > 100);
    // The repository's lock names no registry: the URLs are derived.
    assert.deepEqual(entries.filter(([, m]) => 'resolved' in m).map(([path]) => path), []);

    const registry = npmRegistry();
    const given = evalPackageNix(`{ npmRegistry = ${nixString(registry)}; }`, 'p.npmDeps.packageLock');
    const base = registry.endsWith('/') ? registry : `${registry}/`;
    for (const [path, module] of entries) {
      const name = (module.name as string | undefined) ?? path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length);
      const got = given.packages[path];
      // What importNpmLock's fetchModule reads: an http(s) `resolved` (else it is not fetched, or read
      // as a path under npmRoot) and the `integrity` fetchurl checks it with.
      assert.equal(got.resolved, `${base}${name}/-/${name.split('/').pop()}-${module.version}.tgz`, path);
      assert.match(got.resolved, /^https?:\/\//, path);
      assert.match(got.integrity, /^sha(256|384|512)-[A-Za-z0-9+/]+=*$/, path);
      assert.deepEqual({ ...got, resolved: undefined }, { ...module, resolved: undefined }, `${path}: the rest of the entry as in the lock`);
    }
    assert.deepEqual(given.packages[''], lock.packages[''], 'the root entry is not fetched');
    assert.deepEqual({ ...given, packages: undefined }, { ...lock, packages: undefined });

    // npm's own answer for a scoped and a plain package of the lock: the same URL and integrity.
    for (const path of ['node_modules/@types/node', 'node_modules/execa']) {
      const { version, integrity } = lock.packages[path];
      const name = path.slice('node_modules/'.length);
      const dist = JSON.parse(execFileSync('npm', ['view', `${name}@${version}`, 'dist', '--json'], { encoding: 'utf8' }));
      assert.equal(given.packages[path].resolved, dist.tarball, `npm view ${name}@${version} dist.tarball`);
      assert.equal(integrity, dist.integrity);
    }
  });

  test('nix/default.nix without a strata: one message naming npmRegistry, or strata built from the registry passed', () => {
    const strataOf = (args: string) => `let
      stub = ${PACKAGE_STUB};
      pkgs = stub // { callPackage = f: a: let fn = import f; in fn (builtins.intersectAttrs (builtins.functionArgs fn) stub // a); };
    in (import ${join(REPO_ROOT, 'nix')} ({ inherit pkgs; } // ${args})).strata`;
    const missing = runTool('nix-instantiate', ['--eval', '--strict', '-E', `(${strataOf('{ }')}).pname`], { env: nixEnv(), allowFailure: true });
    assert.notEqual(missing.status, 0);
    assert.match(missing.stderr, /npmRegistry/);
    assert.match(missing.stderr, /npm config get registry/);
    const bad = runTool('nix-instantiate', ['--eval', '--strict', '-E', `(${strataOf('{ npmRegistry = "registry.example"; }')}).pname`], { env: nixEnv(), allowFailure: true });
    assert.match(bad.stderr, /npmRegistry 'registry\.example'.*http/);
    const url = runTool('nix-instantiate', ['--eval', '--strict', '--json', '-E',
      `(${strataOf('{ npmRegistry = "http://127.0.0.1:4873/"; }')}).npmDeps.packageLock.packages."node_modules/execa".resolved`], { env: nixEnv() }).stdout;
    const execa = JSON.parse(readFileSync(join(REPO_ROOT, 'package-lock.json'), 'utf8')).packages['node_modules/execa'];
    assert.equal(JSON.parse(url), `http://127.0.0.1:4873/execa/-/execa-${execa.version}.tgz`);
  });

});
