import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { strata, strataOk } from '../helpers/cli.js';
import { CountingProxy, TestRegistry, freePort, strataAsync } from '../helpers/registry.js';
import { buildFixture, nixEnv, runTool, tmpDir, unpackAndRun } from '../helpers/store.js';

let app: string;
let work: string;
let image: string[];
const HELLO = 'hello from strata\nthe data says hi\n';
const skopeo = (...args: string[]): string => runTool('skopeo', ['--insecure-policy', ...args]).stdout;
const inspect = (ref: string, ...flags: string[]): any => JSON.parse(skopeo('inspect', '--tls-verify=false', ...flags, ref));

/** A customisation tree holding one file, so images can differ in exactly one layer. */
function customisation(name: string, content: string | Buffer): string {
  const dir = join(work, name);
  mkdirSync(join(dir, 'etc'), { recursive: true });
  writeFileSync(join(dir, 'etc', 'motd'), content);
  return dir;
}

/** skopeo copy to a docker-archive, unpacked and run. */
function runFromRegistry(ref: string, ...flags: string[]): string {
  const archive = join(work, `pulled-${Math.random().toString(36).slice(2)}.tar`);
  skopeo('copy', '--quiet', '--src-tls-verify=false', ...flags, ref, `docker-archive:${archive}`);
  return unpackAndRun(archive, []).stdout;
}

/** Every blob the tag's manifest names is in the registry. */
async function blobsPresent(host: string, repo: string, tag: string): Promise<void> {
  const manifest = inspect(`docker://${host}/${repo}:${tag}`, '--raw');
  for (const d of [manifest.config, ...manifest.layers]) {
    const res = await fetch(`http://${host}/v2/${repo}/blobs/${d.digest}`, { method: 'HEAD' });
    assert.equal(res.status, 200, `${d.digest} is missing`);
  }
}

let registry: TestRegistry;
before(async () => {
  app = buildFixture('app');
  work = tmpDir('strata-registry-test-');
  image = ['image', app, '--name', 'app', '--tag', '1', '--max-layers', '4', '--entrypoint', `${app}/bin/hello`];
  registry = await TestRegistry.start();
});
after(async () => {
  await registry?.stop();
});

test('push a built image: skopeo inspects it, copies it out, and it runs; --digestfile and --json name the registry\'s digest', () => {
  const digestfile = join(work, 'digest');
  const ref = `docker://${registry.host}/app:1`;
  const r = strataOk([...image, '--to', ref, '--digestfile', digestfile, '--json']);
  const report = JSON.parse(r.stdout);
  const inspected = inspect(ref);
  assert.equal(readFileSync(digestfile, 'utf8'), inspected.Digest);
  assert.equal(report.digest, inspected.Digest);
  assert.equal(report.reference, ref);
  assert.deepEqual(report.blobs.map((b: any) => b.status), ['pushed', 'pushed', 'pushed', 'pushed']);
  assert.equal(report.totals.pushed.bytes, report.blobs.reduce((n: number, b: any) => n + b.size, 0));
  assert.equal(inspect(ref, '--raw').mediaType, 'application/vnd.oci.image.manifest.v1+json');
  assert.ok(inspect(ref, '--raw').layers.every((l: any) => l.mediaType === 'application/vnd.oci.image.layer.v1.tar+gzip'), 'gzip by default');
  assert.match(r.stderr, /^layer 1\/3 sha256:[0-9a-f]{12}: pushed, \d+ bytes$/m);
  assert.equal(runFromRegistry(ref), HELLO);

  // The same image again: nothing is sent, the digest is the same.
  const again = strataOk([...image, '--to', ref]);
  assert.equal(again.stdout, `${inspected.Digest}\n`);
  assert.match(again.stderr, /: 0 bytes sent \(0 blobs\), \d+ skipped \(4 already there\)/);
});

test('a second image differing in one layer sends that layer, its config and manifest; the rest is HEADed and skipped', async () => {
  const ref = (host: string, tag: string): string => `docker://${host}/diff:${tag}`;
  strataOk([...image, '--customisation', customisation('motd-a', 'first\n'), '--to', ref(registry.host, 'a')]);
  const proxy = await CountingProxy.start(registry.port);
  try {
    const r = await strataAsync([...image, '--customisation', customisation('motd-b', 'second\n'), '--to', ref(proxy.host, 'b'), '--json']);
    assert.equal(r.status, 0, r.stderr);
    const report = JSON.parse(r.stdout);
    const manifest = inspect(ref(registry.host, 'b'), '--raw');
    const changed = manifest.layers.at(-1);
    assert.deepEqual(report.blobs.map((b: any) => b.status), ['skipped', 'skipped', 'skipped', 'pushed', 'pushed']);
    // Uploaded: the changed layer and the config, each small enough to go whole in the PUT naming its digest, then the manifest; nothing else carried a body.
    assert.equal(proxy.requests('PATCH', /./).length, 0);
    const puts = proxy.requests('PUT', /./);
    assert.deepEqual(puts.map((p) => decodeURIComponent(p.url).match(/digest=(sha256:[0-9a-f]+)|manifests\/(\w+)/)!.slice(1).find(Boolean)), [changed.digest, manifest.config.digest, 'b']);
    assert.deepEqual(puts.slice(0, 2).map((p) => p.sent), [changed.size, manifest.config.size]);
    const sent = proxy.log.reduce((n, p) => n + p.sent, 0);
    assert.equal(sent, changed.size + manifest.config.size + puts.at(-1)!.sent);
    // The changed layer, whose digest nothing knew, was streamed without a HEAD.
    assert.equal(proxy.requests('HEAD', /\/blobs\//).length, 4, 'every known blob HEADed first');
    assert.equal(runFromRegistry(ref(registry.host, 'b')), HELLO);
  } finally {
    await proxy.close();
  }
});

test('--mount-from links the blobs another repository holds instead of sending them', () => {
  strataOk([...image, '--to', `docker://${registry.host}/app:1`]);
  const r = strataOk([...image, '--to', `docker://${registry.host}/team/mounted:1`, '--mount-from', 'app', '--json']);
  const report = JSON.parse(r.stdout);
  assert.deepEqual(report.blobs.map((b: any) => b.status), ['mounted', 'mounted', 'mounted', 'mounted']);
  assert.equal(report.totals.pushed.bytes, 0);
  assert.match(readFileSync(registry.logFile, 'utf8'), /mount=sha256/);
  assert.equal(runFromRegistry(`docker://${registry.host}/team/mounted:1`), HELLO);
});

test('Docker schema 2 manifests (--manifest-format docker): the registry and skopeo take them, and the image runs', () => {
  const ref = `docker://${registry.host}/docker-format:1`;
  strataOk([...image, '--to', ref, '--manifest-format', 'docker']);
  const manifest = inspect(ref, '--raw');
  assert.equal(manifest.mediaType, 'application/vnd.docker.distribution.manifest.v2+json');
  assert.equal(manifest.config.mediaType, 'application/vnd.docker.container.image.v1+json');
  assert.ok(manifest.layers.every((l: any) => l.mediaType === 'application/vnd.docker.image.rootfs.diff.tar.gzip'));
  assert.equal(runFromRegistry(ref), HELLO);
  const zstd = strata([...image, '--to', ref, '--manifest-format', 'docker', '--compression', 'zstd']);
  assert.equal(zstd.status, 2);
  assert.match(zstd.stderr, /^strata: --compression zstd: Docker schema 2 manifests have no zstd layers[^\n]*\n$/);
});

test('strata push sends an existing docker-archive or OCI layout, by tag or by digest', () => {
  const archive = join(work, 'app.tar');
  strataOk([...image, '-o', archive]);
  const built = strataOk([...image, '--to', `docker://${registry.host}/app:1`]).stdout.trim();
  // Same blobs whichever way: the archive's layers gzip to the same bytes (a built image's manifest adds the layer keys).
  const pushed = strataOk(['push', archive, `docker://${registry.host}/pushed:1`]).stdout.trim();
  const blobs = (ref: string): string[] => ((m) => [m.config.digest, ...m.layers.map((l: any) => l.digest)])(inspect(ref, '--raw'));
  assert.deepEqual(blobs(`docker://${registry.host}/pushed:1`), blobs(`docker://${registry.host}/app:1`));
  assert.notEqual(pushed, built);
  const layout = join(work, 'layout');
  strataOk([...image, '--to', `oci:${layout}:z`, '--compression', 'zstd']);
  const r = strataOk(['push', `oci:${layout}:z`, `docker://${registry.host}/pushed:zstd`, '--json']);
  const manifest = inspect(`docker://${registry.host}/pushed:zstd`, '--raw');
  assert.ok(manifest.layers.every((l: any) => l.mediaType === 'application/vnd.oci.image.layer.v1.tar+zstd'), 'compressed blobs are kept as they are');
  assert.equal(JSON.parse(r.stdout).digest, inspect(`docker://${registry.host}/pushed:zstd`).Digest);
  assert.equal(strataOk(['push', archive, `docker://${registry.host}/pushed@${pushed}`]).stdout.trim(), pushed);
  const wrong = strata(['push', archive, `docker://${registry.host}/pushed@sha256:${'0'.repeat(64)}`]);
  assert.equal(wrong.status, 5);
  assert.match(wrong.stderr, /^strata: docker:\/\/[^ ]+: the image's manifest digest is sha256:[0-9a-f]{64}; push by tag, or name that digest\n$/m);
  const notRegistry = strata(['push', archive, `oci:${layout}`]);
  assert.equal(notRegistry.status, 2);
});

test('several confs push a multi-platform index', () => {
  const confs = ['amd64', 'arm64'].map((arch) => {
    const file = join(work, `${arch}.json`);
    strataOk(['conf', app, '--name', 'app', '--tag', '1', '--max-layers', '4', '--architecture', arch, '--entrypoint', `${app}/bin/hello`, '-o', file]);
    return file;
  });
  const ref = `docker://${registry.host}/multi:1`;
  const r = strataOk(['stream', ...confs, '--to', ref, '--json', '--allow-foreign-binaries']);
  const index = inspect(ref, '--raw');
  assert.equal(index.mediaType, 'application/vnd.oci.image.index.v1+json');
  assert.deepEqual(index.manifests.map((m: any) => m.platform.architecture), ['amd64', 'arm64']);
  assert.equal(JSON.parse(r.stdout).digest, inspect(ref).Digest);
  assert.equal(JSON.parse(skopeo('--override-arch', 'arm64', 'inspect', '--tls-verify=false', ref)).Architecture, 'arm64');
  // The layers are the same for both: the second image's are skipped.
  assert.deepEqual(JSON.parse(r.stdout).blobs.filter((b: any) => b.what.startsWith('linux/arm64 layer')).map((b: any) => b.status), ['skipped', 'skipped', 'skipped']);
});

test('bad references and unreachable registries fail on one line', async () => {
  for (const [to, code, message] of [
    ['docker://app:1', 2, /no repository after the host/],
    ['docker://127.0.0.1:5000/App:1', 2, /'App' is not a repository name/],
    ['docker://127.0.0.1:5000/app:bad tag', 2, /not a valid tag/],
  ] as const) {
    const r = strata([...image, '--to', to]);
    assert.equal(r.status, code, r.stderr);
    assert.match(r.stderr, message);
    assert.match(r.stderr, /^strata: [^\n]+\n$/);
  }
  const port = await freePort();
  const r = strata([...image, '--to', `docker://127.0.0.1:${port}/app:1`]);
  assert.equal(r.status, 5);
  assert.match(r.stderr, /^strata: docker:\/\/127\.0\.0\.1:\d+\/app:1: cannot connect to 127\.0\.0\.1:\d+: [^\n]*ECONNREFUSED[^\n]*; is a registry listening there\?\n$/);
});

test('bearer tokens: asked for with the challenge\'s service and the push (and mount) scopes, reused, renewed when refused', async () => {
  strataOk([...image, '--to', `docker://${registry.host}/app:1`]);
  const proxy = await CountingProxy.start(registry.port, { bearer: { user: 'robot', pass: 'B3arer-Secret', tokenUses: 6 } });
  try {
    const ref = `docker://${proxy.host}/tokened:1`;
    const anonymous = await strataAsync([...image, '--to', ref]);
    assert.equal(anonymous.status, 5);
    assert.match(anonymous.stderr, /token service http:\/\/127\.0\.0\.1:\d+\/token refused: HTTP 401 Unauthorized: UNAUTHORIZED: bad credentials; the registry needs credentials; give --authfile FILE or --creds USER:PASS/);
    const r = await strataAsync([...image, '--to', ref, '--creds', 'robot:B3arer-Secret', '--mount-from', 'app', '--json']);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(proxy.tokenScopes[0], ['repository:tokened:pull,push', 'repository:app:pull']);
    // 4 HEADs, 4 mounts, a manifest: more than one token's 6 uses, so one renewal.
    assert.equal(proxy.tokenScopes.length, 2);
    assert.deepEqual(JSON.parse(r.stdout).blobs.map((b: any) => b.status), ['mounted', 'mounted', 'mounted', 'mounted']);
    assert.doesNotMatch(r.stderr + r.stdout, /B3arer-Secret/);
  } finally {
    await proxy.close();
  }
});

test('basic auth over TLS: a private CA via --cert-dir, credentials from auth.json; wrong ones fail on one line without the password', async () => {
  const dir = tmpDir('strata-registry-tls-');
  const certs = join(dir, 'certs');
  mkdirSync(certs);
  const ssl = (...args: string[]): void => void runTool('openssl', args, { cwd: dir });
  ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', join(certs, 'ca.crt'), '-days', '2', '-subj', '/CN=strata test CA');
  ssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1');
  writeFileSync(join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  ssl('x509', '-req', '-in', 'server.csr', '-CA', join(certs, 'ca.crt'), '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.crt', '-days', '2', '-extfile', 'san.ext');
  const password = 'Sup3r-S3cret-Pass';
  writeFileSync(join(dir, 'htpasswd'), runTool('htpasswd', ['-Bbn', 'alice', password]).stdout);
  const secure = await TestRegistry.start({ tls: { certificate: join(dir, 'server.crt'), key: join(dir, 'server.key') }, htpasswd: join(dir, 'htpasswd') });
  try {
    const authFile = (pass: string): NodeJS.ProcessEnv => {
      const file = join(dir, `auth-${pass.length}.json`);
      writeFileSync(file, JSON.stringify({ auths: { [secure.host]: { auth: Buffer.from(`alice:${pass}`).toString('base64') } } }));
      return { ...nixEnv(), REGISTRY_AUTH_FILE: file };
    };
    const ref = `docker://${secure.host}/private/app:1`;
    const ok = strata([...image, '--to', ref, '--cert-dir', certs, '--json'], { env: authFile(password) });
    assert.equal(ok.status, 0, ok.stderr);
    const inspected = JSON.parse(skopeo('inspect', '--cert-dir', certs, '--creds', `alice:${password}`, ref));
    assert.equal(inspected.Digest, JSON.parse(ok.stdout).digest);

    const untrusted = strata([...image, '--to', ref], { env: authFile(password) });
    assert.equal(untrusted.status, 5);
    assert.match(untrusted.stderr, /^strata: [^\n]*cannot connect over HTTPS: [^\n]*certificate[^\n]*; give the registry's CA with --cert-dir DIR[^\n]*\n$/);
    const unverified = strata([...image, '--to', ref, '--tls-verify=false'], { env: authFile(password) });
    assert.equal(unverified.status, 0, unverified.stderr);

    const secrets = [password, 'wrong-Pa55word', Buffer.from(`alice:wrong-Pa55word`).toString('base64')];
    for (const [how, env, args] of [
      ['auth file', authFile('wrong-Pa55word'), []],
      ['--creds', nixEnv(), ['--creds', 'alice:wrong-Pa55word']],
    ] as const) {
      const r = strata([...image, '--to', ref, '--cert-dir', certs, ...args], { env });
      assert.equal(r.status, 5, how);
      assert.match(r.stderr, /^strata: docker:\/\/[^ ]+: logging in: HTTP 401 Unauthorized: UNAUTHORIZED: authentication required; the registry refused the credentials; check --creds, --registry-token, or the auth file entry \(or credential helper\) for 127\.0\.0\.1:\d+\n$/, how);
      for (const s of secrets) assert.ok(!(r.stderr + r.stdout).includes(s), `${how}: a secret was printed`);
    }
    const anonymous = strata([...image, '--to', ref, '--cert-dir', certs], { env: { ...nixEnv(), REGISTRY_AUTH_FILE: join(dir, 'none.json') } });
    assert.equal(anonymous.status, 5);
    assert.match(anonymous.stderr, /^strata: docker:\/\/[^ ]+: logging in: HTTP 401 Unauthorized: UNAUTHORIZED: authentication required; the registry needs credentials; give --authfile FILE or --creds USER:PASS, or log in \(podman login 127\.0\.0\.1:\d+\)\n$/);
  } finally {
    await secure.stop();
  }
});

test('a registry killed mid-upload: the push retries in a new session and completes, or fails cleanly leaving no tag', async () => {
  const big = customisation('big', randomBytes(12 << 20));
  let killed = false;
  const killMidUpload = (req: import('node:http').IncomingMessage): void => {
    if (killed || req.method !== 'PATCH') return;
    let seen = 0;
    req.on('data', (chunk: Buffer) => {
      seen += chunk.length;
      if (killed || seen < 1 << 20) return;
      killed = true;
      void registry.kill();
    });
  };

  // The registry stays down until strata says it will retry; requests that
  // come meanwhile wait at the proxy until it is back.
  let back: Promise<void> | undefined;
  const proxy = await CountingProxy.start(registry.port, {
    before: async (req) => {
      killMidUpload(req);
      await back;
    },
  });
  try {
    const r = await strataAsync([...image, '--customisation', big, '--to', `docker://${proxy.host}/crash:1`, '--json'], nixEnv(), (stderr) => {
      if (killed && back === undefined && /retrying in/.test(stderr)) back = registry.restart();
    });
    assert.notEqual(back, undefined, 'strata retried');
    assert.equal(r.status, 0, r.stderr);
    assert.ok(killed);
    assert.match(r.stderr, /^strata: warning: docker:\/\/[^ ]+: uploading layer \d\/4: [^\n]+; retrying in [\d.]+ s$/m);
    const uploads = proxy.requests('POST', /\/blobs\/uploads\/$/);
    assert.ok(uploads.length >= 2, 'a new upload session after the failure');
    assert.equal(JSON.parse(r.stdout).digest, inspect(`docker://${registry.host}/crash:1`).Digest);
    await blobsPresent(registry.host, 'crash', '1');
    assert.equal(runFromRegistry(`docker://${registry.host}/crash:1`), HELLO);
  } finally {
    await proxy.close();
  }

  killed = false;
  const bigger = customisation('bigger', randomBytes(12 << 20));
  const down = await CountingProxy.start(registry.port, { before: killMidUpload });
  try {
    const r = await strataAsync([...image, '--customisation', bigger, '--to', `docker://${down.host}/crash:2`, '--retry-times', '2', '--retry-delay', '0.1']);
    assert.equal(r.status, 5, r.stderr);
    assert.match(r.stderr.split('\n').filter((l) => !l.startsWith('strata: warning:') && !/^(layer|config)/.test(l)).join('\n'), /^strata: docker:\/\/[^ ]+: [^\n]+\n$/);
    assert.equal(down.requests('PUT', /\/manifests\//).length, 0, 'no manifest put');
  } finally {
    await down.close();
    await registry.restart();
  }
  const tag = runTool('skopeo', ['--insecure-policy', 'inspect', '--tls-verify=false', `docker://${registry.host}/crash:2`], { allowFailure: true });
  assert.notEqual(tag.status, 0);
  assert.match(tag.stderr, /manifest unknown/);
});
