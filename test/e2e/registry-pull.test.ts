import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type CliResult, strata, strataOk } from '../helpers/cli.js';
import { RedirectingFront } from '../helpers/redirect-front.js';
import { CountingProxy, TestRegistry, strataAsync } from '../helpers/registry.js';
import { REPO_ROOT, buildFixture, nixEnv, podmanLoad, runTool, tmpDir, unpackAndRun } from '../helpers/store.js';

// docker:// as a source (pull, inspect, verify, --from), credentials from
// flags, auth files and credential helpers, and blobs redirected to another
// host, against the real docker-registry.

const HELLO = 'hello from strata\nthe data says hi\n';
const skopeo = (...args: string[]): string => runTool('skopeo', ['--insecure-policy', ...args]).stdout;
const rawManifest = (ref: string, ...flags: string[]): string => skopeo('inspect', '--tls-verify=false', '--raw', ...flags, ref);
const sha256 = (text: string | Buffer): string => `sha256:${createHash('sha256').update(text).digest('hex')}`;
const manifestJson = (archive: string): any => JSON.parse(runTool('tar', ['-xOf', archive, 'manifest.json']).stdout);

let app: string;
let work: string;
let registry: TestRegistry;
/** An environment whose auth files are all in an empty home: no credentials unless a test gives them. */
let cleanEnv: NodeJS.ProcessEnv;

before(async () => {
  app = buildFixture('app');
  work = tmpDir('strata-pull-test-');
  const home = join(work, 'home');
  mkdirSync(home);
  const env: NodeJS.ProcessEnv = { ...nixEnv(), HOME: home, XDG_CONFIG_HOME: join(home, '.config'), XDG_RUNTIME_DIR: join(home, 'run') };
  for (const k of ['REGISTRY_AUTH_FILE', 'DOCKER_CONFIG']) delete env[k];
  cleanEnv = env;
  registry = await TestRegistry.start();
  strataOk(['image', app, '--name', 'app', '--tag', '1', '--max-layers', '4', '--entrypoint', `${app}/bin/hello`, '--to', `docker://${registry.host}/app:1`], { env: cleanEnv });
});
after(async () => {
  await registry?.stop();
});

describe('docker:// as a source', () => {
  test('pull to a docker-archive FILE:NAME:TAG: prints the manifest digest skopeo sees; the archive runs', () => {
    const ref = `docker://${registry.host}/app:1`;
    const archive = join(work, 'pulled.tar');
    const r = strataOk(['pull', ref, `docker-archive:${archive}:pinned/app:7`], { env: cleanEnv });
    const digest = sha256(rawManifest(ref));
    assert.equal(r.stdout, `${digest}\n`);
    assert.deepEqual(manifestJson(archive)[0].RepoTags, ['pinned/app:7']);
    assert.equal(unpackAndRun(archive, []).stdout, HELLO);

    // Pinned by that digest: the same image, the same bytes.
    const again = join(work, 'pulled-again.tar');
    assert.equal(strataOk(['pull', `docker://${registry.host}/app@${digest}`, `docker-archive:${again}:pinned/app:7`], { env: cleanEnv }).stdout, `${digest}\n`);
    assert.ok(readFileSync(archive).equals(readFileSync(again)));
  });

  test('pull to an OCI layout with their compression keeps the registry\'s blobs as stored; inspect and verify read docker:// too', () => {
    const ref = `docker://${registry.host}/app:1`;
    const manifest = JSON.parse(rawManifest(ref));
    const layout = join(work, 'layout');
    strataOk(['pull', ref, `oci:${layout}:app`, '--compression', 'gzip'], { env: cleanEnv });
    const blobs = readdirSync(join(layout, 'blobs', 'sha256'));
    for (const l of manifest.layers) assert.ok(blobs.includes(l.digest.slice('sha256:'.length)), `layer ${l.digest} copied as it is`);
    assert.equal(skopeo('inspect', '--raw', `oci:${layout}:app`), rawManifest(ref), 'the same manifest bytes');

    const inspection = JSON.parse(strataOk(['inspect', ref, '--json'], { env: cleanEnv }).stdout);
    assert.equal(inspection.layers.length, manifest.layers.length);
    assert.match(strataOk(['verify', ref], { env: cleanEnv }).stdout, new RegExp(`ok: ${manifest.layers.length} layers verified`));
  });

  test('a multi-platform index: --platform takes one image; without it, an OCI destination gets all; the index digest pins it', () => {
    const amd = join(work, 'amd64.json');
    const arm = join(work, 'arm64.json');
    strataOk(['conf', app, '--name', 'multi', '--tag', '1', '--architecture', 'amd64', '-o', amd], { env: cleanEnv });
    strataOk(['conf', app, '--name', 'multi', '--tag', '1', '--architecture', 'arm64', '-o', arm], { env: cleanEnv });
    const ref = `docker://${registry.host}/multi:1`;
    strataOk(['stream', amd, arm, '--to', ref, '--allow-foreign-binaries'], { env: cleanEnv });
    const index = rawManifest(ref);
    assert.equal(JSON.parse(index).manifests.length, 2);

    const archive = join(work, 'arm.tar');
    const r = strataOk(['pull', ref, `docker-archive:${archive}`, '--platform', 'linux/arm64'], { env: cleanEnv });
    assert.equal(r.stdout, `${sha256(index)}\n`);
    const config = JSON.parse(runTool('tar', ['-xOf', archive, manifestJson(archive)[0].Config]).stdout);
    assert.equal(config.architecture, 'arm64');

    const both = join(work, 'both');
    strataOk(['pull', ref, `oci:${both}:multi`, '--compression', 'gzip'], { env: cleanEnv });
    const digests = (text: string): string[] => JSON.parse(text).manifests.map((m: any) => `${m.platform.architecture} ${m.digest}`);
    assert.deepEqual(digests(skopeo('inspect', '--raw', `oci:${both}:multi`)), digests(index), 'each platform\'s manifest as the registry has it');
    const several = strata(['pull', ref, `docker-archive:${join(work, 'x.tar')}`], { env: cleanEnv });
    assert.equal(several.status, 2);
    assert.match(several.stderr, /several images need an OCI destination/);
    assert.ok(!existsSync(join(work, 'x.tar')));
  });

  test('--from docker://: the base\'s layers under the new ones; pushed to the same registry, they are mounted, not sent', () => {
    const derived = join(work, 'derived.tar');
    const base = `docker://${registry.host}/app:1`;
    strataOk(['image', app, '--name', 'derived', '--tag', '1', '--from', base, '--entrypoint', `${app}/bin/hello`, '-o', derived], { env: cleanEnv });
    const baseConfig = JSON.parse(skopeo('inspect', '--tls-verify=false', '--config', base));
    const layers = manifestJson(derived)[0].Layers;
    assert.ok(layers.length > baseConfig.rootfs.diff_ids.length);
    const config = JSON.parse(runTool('tar', ['-xOf', derived, manifestJson(derived)[0].Config]).stdout);
    assert.deepEqual(config.rootfs.diff_ids.slice(0, baseConfig.rootfs.diff_ids.length), baseConfig.rootfs.diff_ids);
    assert.equal(unpackAndRun(derived, []).stdout, HELLO);

    const pushed = strataOk(['image', app, '--name', 'derived', '--tag', '1', '--from', base, '--to', `docker://${registry.host}/derived:1`, '--json'], { env: cleanEnv });
    const report = JSON.parse(pushed.stdout);
    const baseLayers = JSON.parse(rawManifest(base)).layers.map((l: any) => l.digest);
    const mounted = report.blobs.filter((b: any) => b.status === 'mounted').map((b: any) => b.digest);
    assert.deepEqual(mounted, baseLayers, 'every base layer mounted from app');
  });

  test('a missing tag: one line, exit 5; a namespace for a host: exit 2; a file source prints its config digest', () => {
    const r = strata(['pull', `docker://${registry.host}/app:nope`, `docker-archive:${join(work, 'nope.tar')}`], { env: cleanEnv });
    assert.equal(r.status, 5);
    assert.match(r.stderr, /^strata: docker:\/\/127\.0\.0\.1:\d+\/app:nope: getting the manifest nope: HTTP 404 Not Found: MANIFEST_UNKNOWN[^\n]*\n$/);
    assert.ok(!existsSync(join(work, 'nope.tar')));
    const hub = strata(['pull', 'docker://nixos/nix:2.19', `docker-archive:${join(work, 'hub.tar')}`], { env: cleanEnv });
    assert.equal(hub.status, 2);
    assert.match(hub.stderr, /^strata: docker:\/\/nixos\/nix:2\.19: 'nixos' is not a registry host \(a first part without a dot or a port is a namespace to Docker\); name the registry with its domain or port; expected docker:\/\/HOST/);
    const archive = join(work, 'pulled.tar');
    const config = manifestJson(archive)[0].Config.replace(/\.json$/, '');
    assert.equal(strataOk(['pull', archive, `oci:${join(work, 'from-file')}:x`], { env: cleanEnv }).stdout, `sha256:${config}\n`);
  });
});

test('dockerTools.pullImage: a fixed-output nix-build running strata pull against the registry, byte for byte the CLI\'s archive', () => {
  const digest = sha256(rawManifest(`docker://${registry.host}/app:1`));
  const local = join(work, 'for-hash.tar');
  strataOk(['pull', `docker://${registry.host}/app@${digest}`, `docker-archive:${local}:pinned/app:2.0`, '--platform', 'linux/amd64'], { env: cleanEnv });
  const hash = `sha256-${createHash('sha256').update(readFileSync(local)).digest('base64')}`;
  const fixture = join(REPO_ROOT, 'test', 'fixtures', 'docker-tools.nix');
  const pull = (h: string): string =>
    `((import ${fixture} { repo = ${JSON.stringify(REPO_ROOT)}; node = ${JSON.stringify(process.execPath)}; }).dockerTools.pullImage ` +
    `{ imageName = "${registry.host}/app"; imageDigest = "${digest}"; hash = "${h}"; finalImageName = "pinned/app"; finalImageTag = "2.0"; tlsVerify = false; })`;
  // A fixed output already in the store is not built again: remove it, so this run pulls.
  const out = JSON.parse(runTool('nix-instantiate', ['--eval', '--json', '-E', `${pull(hash)}.outPath`], { env: nixEnv() }).stdout);
  assert.match(out, /-docker-image-pinned-app-2\.0\.tar$/);
  if (existsSync(out)) runTool('nix-store', ['--delete', out], { env: nixEnv() });
  let built = '';
  for (let attempt = 1; ; attempt++) {
    const r = runTool('nix-build', ['-E', pull(hash), '--no-out-link'], { env: nixEnv(), allowFailure: true });
    if (r.status === 0) {
      built = r.stdout.trim();
      break;
    }
    if (attempt < 3 && /signal 9/.test(r.stderr)) continue;
    assert.fail(`nix-build pullImage: exit ${r.status}\n${r.stderr}`);
  }
  assert.equal(built, out);
  assert.ok(readFileSync(built).equals(readFileSync(local)), 'the same bytes as strata pull gives');
  assert.deepEqual(manifestJson(built)[0].RepoTags, ['pinned/app:2.0']);
  assert.match(podmanLoad(built), /pinned\/app:2\.0/);

  // Another hash: Nix refuses the output, naming the one it got.
  const wrong = runTool('nix-build', ['-E', pull('sha256-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA='), '--no-out-link'], { env: nixEnv(), allowFailure: true });
  assert.notEqual(wrong.status, 0);
  assert.ok(wrong.stderr.includes(hash), wrong.stderr);
});

test('a token registry: reading asks for pull scope alone, each blob once; --registry-token is sent as it is; a mount asks pull on its source', async () => {
  const proxy = await CountingProxy.start(registry.port, { bearer: { user: 'carol', pass: 'T0ken-Pass' } });
  try {
    const ref = `docker://${proxy.host}/app:1`;
    const pulled = await strataAsync(['pull', ref, `docker-archive:${join(work, 'bearer.tar')}`, '--creds', 'carol:T0ken-Pass'], cleanEnv);
    assert.equal(pulled.status, 0, pulled.stderr);
    assert.deepEqual(proxy.tokenScopes, [['repository:app:pull']]);
    // Each blob downloaded once, though a docker-archive reads a compressed layer twice (its size first).
    const layers = JSON.parse(rawManifest(`docker://${registry.host}/app:1`)).layers.length;
    assert.equal(proxy.requests('GET', /\/blobs\/sha256:/).length, layers + 1, 'the config and each layer, once');

    const res = await fetch(`http://${proxy.host}/token?service=strata-test&scope=repository:app:pull`, { headers: { authorization: `Basic ${Buffer.from('carol:T0ken-Pass').toString('base64')}` } });
    const { token } = (await res.json()) as { token: string };
    const withToken = await strataAsync(['inspect', ref], cleanEnv);
    assert.equal(withToken.status, 5, 'inspect alone has no credentials');
    const given = await strataAsync(['pull', ref, `oci:${join(work, 'token-layout')}:x`, '--registry-token', token], cleanEnv);
    assert.equal(given.status, 0, given.stderr);
    assert.equal(proxy.tokenScopes.length, 2, 'no token asked for: the given one was used');
    for (const r of [pulled, given]) assert.ok(!(r.stdout + r.stderr).includes(token) && !(r.stdout + r.stderr).includes('T0ken-Pass'));

    const copied = await strataAsync(['pull', ref, `docker://${proxy.host}/copied:1`, '--creds', 'carol:T0ken-Pass'], cleanEnv);
    assert.equal(copied.status, 0, copied.stderr);
    assert.deepEqual(proxy.tokenScopes.slice(2), [['repository:app:pull'], ['repository:copied:pull,push', 'repository:app:pull']]);
    assert.match(copied.stderr, new RegExp(`copied:1: \\d+ bytes sent \\(1 blobs\\), 0 skipped \\(0 already there\\), \\d+ mounted \\(${layers}\\)`), 'the layers mounted, the config sent');
  } finally {
    await proxy.close();
  }
});

describe('credentials and redirects', () => {
  const password = 'Pull-S3cret:with-colon';
  const helperSecret = 'Helper-T0ken-Secret';
  let dir: string;
  let secure: TestRegistry;
  const secrets = (): string[] => [password, helperSecret, Buffer.from(`alice:${password}`).toString('base64'), Buffer.from(`bob:${helperSecret}`).toString('base64')];
  const outputs: CliResult[] = [];
  const run = (args: string[], env: NodeJS.ProcessEnv): CliResult => {
    const r = strata(args, { env });
    outputs.push(r);
    return r;
  };

  before(async () => {
    dir = tmpDir('strata-pull-auth-');
    writeFileSync(join(dir, 'htpasswd'), runTool('htpasswd', ['-Bbn', 'alice', password]).stdout + runTool('htpasswd', ['-Bbn', 'bob', helperSecret]).stdout);
    secure = await TestRegistry.start({ htpasswd: join(dir, 'htpasswd') });
    strataOk(['pull', `docker://${registry.host}/app:1`, `docker://${secure.host}/private/app:1`, '--creds', `alice:${password}`], { env: cleanEnv });
    // A credential helper as the Docker CLI runs one: the server on stdin, JSON out; it logs what it was asked.
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    writeFileSync(
      join(bin, 'docker-credential-strata-test'),
      ['#!/bin/sh', '[ "$1" = get ] || exit 3', 'read -r server', `echo "$server" >> '${join(dir, 'helper.log')}'`,
        `if [ "$server" = '${secure.host}' ]; then printf '{"ServerURL":"%s","Username":"bob","Secret":"${helperSecret}"}' "$server"; exit 0; fi`,
        'echo "credentials not found in native keychain"; exit 1', ''].join('\n'),
    );
    chmodSync(join(bin, 'docker-credential-strata-test'), 0o755);
    // A broken helper that says a secret on its way out.
    writeFileSync(join(bin, 'docker-credential-broken'), `#!/bin/sh\necho "token ${helperSecret} expired" >&2\necho "${helperSecret}"\nexit 4\n`);
    chmodSync(join(bin, 'docker-credential-broken'), 0o755);
  });
  after(async () => {
    await secure?.stop();
    // No run printed a secret, on stdout or stderr.
    for (const r of outputs) for (const s of secrets()) assert.ok(!(r.stdout + r.stderr).includes(s), `a secret was printed: ${r.stderr}`);
  });

  const helperEnv = (config: object, where: 'docker' | 'authfile' = 'docker'): NodeJS.ProcessEnv => {
    const home = tmpDir('strata-pull-home-');
    const file = where === 'docker' ? join(home, '.docker', 'config.json') : join(home, 'auth.json');
    mkdirSync(join(home, '.docker'), { recursive: true });
    writeFileSync(file, JSON.stringify(config));
    return { ...cleanEnv, HOME: home, XDG_CONFIG_HOME: join(home, '.config'), PATH: `${join(dir, 'bin')}:${process.env.PATH}` };
  };

  test('--creds, --authfile, credHelpers and credsStore (docker-credential-NAME get, the registry on stdin)', () => {
    const ref = `docker://${secure.host}/private/app:1`;
    const target = (name: string): string => `docker-archive:${join(dir, `${name}.tar`)}`;
    const digest = sha256(rawManifest(ref, '--creds', `alice:${password}`));

    const anonymous = run(['pull', ref, target('anon')], cleanEnv);
    assert.equal(anonymous.status, 5);
    assert.match(anonymous.stderr, /the registry needs credentials; give --authfile FILE or --creds USER:PASS/);

    assert.equal(run(['pull', ref, target('creds'), '--creds', `alice:${password}`], cleanEnv).stdout, `${digest}\n`);

    const authfile = join(dir, 'auth.json');
    writeFileSync(authfile, JSON.stringify({ auths: { [`${secure.host}/private`]: { auth: Buffer.from(`alice:${password}`).toString('base64') } } }));
    assert.equal(run(['pull', ref, target('authfile'), '--authfile', authfile], cleanEnv).stdout, `${digest}\n`);
    // $REGISTRY_AUTH_FILE is the primary file when no --authfile is given.
    assert.equal(run(['pull', ref, target('env')], { ...cleanEnv, REGISTRY_AUTH_FILE: authfile }).stdout, `${digest}\n`);

    const helped = run(['pull', ref, target('helper')], helperEnv({ credHelpers: { [secure.host]: 'strata-test' } }));
    assert.equal(helped.stdout, `${digest}\n`, helped.stderr);
    const stored = run(['pull', ref, target('store')], helperEnv({ auths: {}, credsStore: 'strata-test' }));
    assert.equal(stored.stdout, `${digest}\n`, stored.stderr);
    assert.deepEqual(readFileSync(join(dir, 'helper.log'), 'utf8').trim().split('\n'), [secure.host, secure.host]);
    // The helper asked for another registry finds nothing: anonymous, and the registry says so.
    const unknown = run(['pull', `docker://${registry.host}/app:1`, target('public')], helperEnv({ credsStore: 'strata-test' }));
    assert.equal(unknown.status, 0, unknown.stderr);

    const missing = run(['pull', ref, target('missing')], helperEnv({ credHelpers: { [secure.host]: 'absent-helper' } }));
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /^strata: [^\n]*config\.json: credential helper docker-credential-absent-helper for 127\.0\.0\.1:\d+ is not on PATH; install it, or remove it from the auth file\n$/);

    // A base from the private registry: image and stream read it with their own registry flags.
    const fromArgs = ['image', app, '--name', 'on-private', '--from', ref, '-o', join(dir, 'on-private.tar')];
    assert.equal(run(fromArgs, cleanEnv).status, 5, 'no credentials for the base');
    const based = run([...fromArgs, '--authfile', authfile], cleanEnv);
    assert.equal(based.status, 0, based.stderr);
    const onPrivate = join(dir, 'on-private.tar');
    const baseIds = JSON.parse(skopeo('inspect', '--tls-verify=false', '--config', '--creds', `alice:${password}`, ref)).rootfs.diff_ids;
    const ids = JSON.parse(runTool('tar', ['-xOf', onPrivate, manifestJson(onPrivate)[0].Config]).stdout).rootfs.diff_ids;
    assert.deepEqual(ids.slice(0, baseIds.length), baseIds, 'the base\'s layers first');
    // Commands that only read an image take the same registry flags.
    const layers = baseIds.length;
    assert.equal(run(['verify', ref, '--creds', `alice:${password}`], cleanEnv).stdout, `ok: ${layers} layers verified\n`);
    assert.equal(JSON.parse(run(['inspect', ref, '--json', '--authfile', authfile], cleanEnv).stdout).layers.length, layers);
    assert.equal(run(['inspect', ref], cleanEnv).status, 5, 'no credentials to inspect with');
    const planned = run(['plan', app, '--from', ref, '--authfile', authfile, '--format', 'json'], cleanEnv);
    assert.equal(planned.status, 0, planned.stderr);
    const conf = run(['conf', app, '--from', ref, '--creds', `alice:${password}`], cleanEnv);
    assert.equal(conf.status, 0, conf.stderr);
    assert.equal(JSON.parse(conf.stdout).from_image, ref);
    // An auth file that is there but cannot be read stops the run (its credentials would go unsent); a missing one is skipped.
    const unreadable = run(['pull', ref, target('unreadable'), '--authfile', dir], cleanEnv);
    assert.equal(unreadable.status, 2);
    assert.equal(unreadable.stderr, `strata: ${dir}: cannot read the auth file (EISDIR); fix it or point --authfile elsewhere\n`);
    assert.equal(run(['pull', ref, target('absent'), '--authfile', join(dir, 'absent.json'), '--creds', `alice:${password}`], cleanEnv).stdout, `${digest}\n`);
    // Credentials in the reference are refused, and not shown.
    const inline = run(['pull', `docker://alice:${password}@${secure.host}/private/app:1`, target('inline')], cleanEnv);
    assert.equal(inline.status, 2);
    assert.match(inline.stderr, /^strata: docker:\/\/\*\*\*@127\.0\.0\.1:\d+\/private\/app:1: a reference carries no credentials; give them with --creds USER:PASS, --authfile FILE or an auth file's entry\n$/);

        const broken = run(['pull', ref, target('broken')], helperEnv({ credHelpers: { [secure.host]: 'broken' } }));
    assert.equal(broken.status, 5);
    assert.match(broken.stderr, /^strata: docker-credential-broken get 127\.0\.0\.1:\d+ failed \(exit 4\); its output is not shown, as it may hold secrets; run it by hand to see why\n$/);

    const wrong = run(['pull', ref, target('wrong'), '--creds', 'alice:not-the-Pa55word'], cleanEnv);
    assert.equal(wrong.status, 5);
    assert.ok(!wrong.stderr.includes('not-the-Pa55word'));
    assert.match(run(['pull', ref, target('both'), '--creds', 'a:b', '--registry-token', 't'], cleanEnv).stderr, /^strata: give --creds or --registry-token, not both\n$/);
  });

  test('blobs redirected to another host: followed for HEAD and GET, and no credentials reach that host', async () => {
    const front = await RedirectingFront.start(secure.port, `Basic ${Buffer.from(`alice:${password}`).toString('base64')}`);
    try {
      const ref = `docker://${front.host}/private/app:1`;
      const archive = join(dir, 'redirected.tar');
      const pulled = await strataAsync(['pull', ref, `docker-archive:${archive}:app:1`, '--creds', `bob:${helperSecret}`], cleanEnv);
      outputs.push(pulled);
      assert.equal(pulled.status, 0, pulled.stderr);
      assert.equal(unpackAndRun(archive, []).stdout, HELLO);
      const gets = front.storageRequests.filter((r) => r.method === 'GET');
      assert.ok(gets.length >= 4, `the config and layers came from the storage host (${gets.length} GETs)`);

      // A push whose blobs are all there (the layout keeps them as stored): every HEAD is redirected, answered 200 there, and nothing is sent.
      const layout = join(dir, 'redirected-layout');
      const copied = await strataAsync(['pull', ref, `oci:${layout}:app`, '--compression', 'gzip', '--creds', `bob:${helperSecret}`], cleanEnv);
      outputs.push(copied);
      assert.equal(copied.status, 0, copied.stderr);
      const pushed = await strataAsync(['push', `oci:${layout}:app`, `docker://${front.host}/private/app:1`, '--creds', `bob:${helperSecret}`, '--json'], cleanEnv);
      outputs.push(pushed);
      assert.equal(pushed.status, 0, pushed.stderr);
      const report = JSON.parse(pushed.stdout);
      assert.deepEqual(report.blobs.map((b: any) => b.status), report.blobs.map(() => 'skipped'));
      assert.ok(front.storageRequests.some((r) => r.method === 'HEAD'), 'HEADs were redirected');

      assert.ok(front.redirected > 0);
      for (const r of front.storageRequests) {
        assert.equal(r.headers.authorization, undefined, `${r.method} ${r.url} carried Authorization`);
        for (const s of secrets()) assert.ok(!JSON.stringify(r.headers).includes(s), `${r.method} ${r.url}: a secret in its headers`);
      }
    } finally {
      await front.close();
    }
  });
});
