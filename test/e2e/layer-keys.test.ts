import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, strata } from '../helpers/cli.js';
import { CountingProxy, TestRegistry, emptyCacheEnv, runPulled, strataAsync } from '../helpers/registry.js';
import { buildFixture, runTool, tmpDir } from '../helpers/store.js';

let app: string;
let work: string;
let registry: TestRegistry;
const HELLO = 'hello from strata\nthe data says hi\n';
const KEY = 'dev.strata.layer.key';
const skopeo = (...args: string[]): string => runTool('skopeo', ['--insecure-policy', ...args]).stdout;
const raw = (ref: string, ...flags: string[]): any => JSON.parse(skopeo('inspect', '--tls-verify=false', '--raw', ...flags, ref));
const emptyCache = emptyCacheEnv;
const runFromRegistry = (ref: string): string => runPulled(ref, work);
const image = (motd: string, ...more: string[]): string[] => ['image', app, '--name', 'app', '--max-layers', '4', '--entrypoint', `${app}/bin/hello`, '--customisation', tree(motd), ...more];
/** The same image with two roots, in the order given. */
const twoRoots = (roots: string[], ...more: string[]): string[] => ['image', ...roots, '--name', 'app', '--max-layers', '4', '--entrypoint', `${app}/bin/hello`, '--customisation', tree('keys'), ...more];

/** A customisation tree holding /etc/motd: images that differ in their app layer alone. */
function tree(motd: string): string {
  const dir = join(work, `motd-${motd.replace(/\W/g, '_')}`);
  mkdirSync(join(dir, 'etc'), { recursive: true });
  writeFileSync(join(dir, 'etc', 'motd'), motd);
  return dir;
}

function push(args: string[], env = emptyCache()): any {
  const r = strata([...args, '--json'], { env });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}


before(async () => {
  app = buildFixture('app');
  work = tmpDir('strata-layer-keys-');
  registry = await TestRegistry.start();
});
after(async () => {
  await registry?.stop();
});

test('layer keys: the same key, the same bytes (another umask, the roots in another order); another owner or mtime, another key; Docker manifests carry them in the config', () => {
  const lib = buildFixture('lib-a');
  const ref = (repo: string): string => `docker://${registry.host}/${repo}:1`;
  push([...twoRoots([app, lib]), '--to', ref('keys-a')]);
  // The same image from a shell with another umask and the roots given the other way round.
  const r = spawnSync('sh', ['-c', 'umask 077 && exec "$@"', 'sh', process.execPath, CLI, ...twoRoots([lib, app]), '--to', ref('keys-b')], { env: emptyCache(), encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const [a, b] = [raw(ref('keys-a')), raw(ref('keys-b'))];
  const keyed = a.layers.filter((l: any) => l.annotations?.[KEY]);
  // The store layers are keyed (from the Nix database's NAR hashes); the app tree is not: only reading tells what it holds.
  assert.equal(keyed.length, a.layers.length - 1);
  assert.equal(a.layers.at(-1).annotations, undefined);
  for (const l of keyed) assert.match(l.annotations[KEY], /^sha256:[0-9a-f]{64}$/);
  assert.deepEqual(b.layers, a.layers, 'same keys, same blobs');

  const uid = raw((push([...twoRoots([app, lib], '--uid', '1000'), '--to', ref('keys-uid')]), ref('keys-uid')));
  const mtime = raw((push([...twoRoots([app, lib], '--mtime', '2020-01-01T00:00:00Z'), '--to', ref('keys-mtime')]), ref('keys-mtime')));
  for (const other of [uid, mtime]) {
    for (const [i, l] of keyed.entries()) {
      assert.notEqual(other.layers[i].annotations[KEY], l.annotations[KEY]);
      assert.notEqual(other.layers[i].digest, l.digest);
    }
  }

  // Docker schema 2: no annotations; the config names each layer's key, diff_id and compression.
  push([...twoRoots([app, lib]), '--manifest-format', 'docker', '--to', ref('keys-docker')]);
  const docker = raw(ref('keys-docker'));
  assert.ok(docker.layers.every((l: any) => l.annotations === undefined));
  const config = raw(ref('keys-docker'), '--config');
  assert.deepEqual(
    config['dev.strata.layers'],
    [...keyed.map((l: any) => ({ key: l.annotations[KEY], diff_id: l.annotations['dev.strata.layer.diff-id'], compression: 'gzip/1/4' })), null],
  );
  assert.deepEqual(config.rootfs.diff_ids.slice(0, -1), keyed.map((l: any) => l.annotations['dev.strata.layer.diff-id']));
  assert.equal(runFromRegistry(ref('keys-docker')), HELLO);

  // An OCI layout carries the same annotations over the same blobs.
  const layout = join(work, 'keys-oci');
  assert.equal(strata([...twoRoots([app, lib]), '--to', `oci:${layout}:1`, '--compression', 'gzip']).status, 0);
  const index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8'));
  const ociManifest = JSON.parse(readFileSync(join(layout, 'blobs', 'sha256', index.manifests[0].digest.slice('sha256:'.length)), 'utf8'));
  assert.deepEqual(ociManifest.layers, a.layers);

  // A docker-archive stays as it was: no keys in its config.
  const archive = join(work, 'keys.tar');
  assert.equal(strata([...twoRoots([app, lib]), '-o', archive]).status, 0);
  assert.doesNotMatch(runTool('tar', ['-xOf', archive, '--wildcards', '*.json']).stdout, /dev\.strata/);
});

for (const format of ['oci', 'docker'] as const) {
  test(`the registry as the cache (${format} manifests): an app change re-pushed with an empty cache sends the app layer alone, reading no other`, async () => {
    const ref = (host: string): string => `docker://${host}/cache-${format}:release`;
    push([...image('one'), '--manifest-format', format, '--to', ref(registry.host)]);
    const proxy = await CountingProxy.start(registry.port);
    try {
      const r = await strataAsync([...image('two'), '--manifest-format', format, '--to', ref(proxy.host), '--json'], emptyCache());
      assert.equal(r.status, 0, r.stderr);
      const report = JSON.parse(r.stdout);
      assert.deepEqual(report.blobs.map((b: any) => b.status), ['skipped', 'skipped', 'skipped', 'pushed', 'pushed']);
      const manifest = raw(ref(registry.host));
      // Read: the tag's manifest (and for Docker the config); sent: the app layer and the config.
      assert.equal(proxy.requests('GET', /\/manifests\/release$/).length, 1);
      assert.equal(proxy.requests('GET', /\/blobs\//).length, format === 'docker' ? 1 : 0);
      // Bytes sent in upload sessions (a PATCH, or the PUT itself for a small blob): those two blobs' alone.
      const uploads = proxy.log.filter((p) => /\/blobs\/uploads\//.test(p.url));
      assert.equal(uploads.reduce((n, p) => n + p.sent, 0), manifest.layers.at(-1).size + manifest.config.size);
      // Every reused blob's presence was checked.
      assert.equal(proxy.requests('HEAD', /\/blobs\/sha256:/).length, 4);
      assert.equal(runFromRegistry(ref(registry.host)), HELLO);
    } finally {
      await proxy.close();
    }
  });
}

test('--reuse docker://REF of the same registry: its keyed layers are mounted, unread', () => {
  push([...image('shipped'), '--to', `docker://${registry.host}/team/base:1`]);
  const report = push([...image('mine'), '--to', `docker://${registry.host}/team/other:1`, '--reuse', `docker://${registry.host}/team/base:1`]);
  assert.deepEqual(report.blobs.map((b: any) => b.status), ['mounted', 'mounted', 'mounted', 'pushed', 'pushed']);
  assert.equal(runFromRegistry(`docker://${registry.host}/team/other:1`), HELLO);
  const elsewhere = strata([...image('mine'), '--to', `docker://${registry.host}/team/other:2`, '--reuse', 'docker://127.0.0.2:1/team/base:1']);
  // An image of another registry guides the planner (read like any image): one that cannot be reached stops before anything is pushed.
  assert.equal(elsewhere.status, 5, elsewhere.stderr);
  assert.match(elsewhere.stderr, /^strata: --reuse docker:\/\/127\.0\.0\.2:1\/team\/base:1: cannot connect to 127\.0\.0\.2:1/);
  assert.equal(strata(['inspect', `docker://${registry.host}/team/other:2`]).status, 5);
});

test('a tampered registry (a key naming the wrong blob): --verify-reused downloads the reused blobs and refuses it, the tag unchanged', async () => {
  const base = `http://${registry.host}/v2/tampered`;
  push([...image('honest'), '--to', `docker://${registry.host}/tampered:1`]);
  const manifest = raw(`docker://${registry.host}/tampered:1`);
  // The first layer's annotations now stand over the second layer's blob.
  const [first, second] = manifest.layers;
  manifest.layers[0] = { ...second, annotations: first.annotations };
  const bytes = JSON.stringify(manifest);
  const put = await fetch(`${base}/manifests/1`, { method: 'PUT', headers: { 'content-type': manifest.mediaType }, body: bytes });
  assert.equal(put.status, 201);
  const before = raw(`docker://${registry.host}/tampered:1`);

  const r = strata([...image('next'), '--to', `docker://${registry.host}/tampered:1`, '--verify-reused'], { env: emptyCache() });
  assert.equal(r.status, 4, r.stderr);
  assert.match(r.stderr, /^strata: --verify-reused: layer 1\/4: blob sha256:[0-9a-f]{64} of docker:\/\/[^ ]+\/tampered:1 holds the tar sha256:[0-9a-f]{64}, not the sha256:[0-9a-f]{64} its key sha256:[0-9a-f]{12} names; refusing it/m);
  assert.deepEqual(raw(`docker://${registry.host}/tampered:1`), before, 'the tag still names what it did');
});

test('strata verify docker://: a Docker config whose layer keys name another layer\'s diff_id is refused (exit 4); the untampered image passes', async () => {
  const name = `docker://${registry.host}/wrong-keys:1`;
  push([...image('keys'), '--manifest-format', 'docker', '--to', name]);
  const honest = strata(['verify', name]);
  assert.equal(honest.status, 0, honest.stderr);
  assert.equal(honest.stdout, 'ok: 4 layers verified\n');

  // The config's first key now names the second layer's diff_id; the config blob and manifest are uploaded anew.
  const base = `http://${registry.host}/v2/wrong-keys`;
  const manifest = raw(name);
  const config = raw(name, '--config');
  const diffIds: string[] = config.rootfs.diff_ids;
  assert.equal(config['dev.strata.layers'][0].diff_id, diffIds[0]);
  config['dev.strata.layers'][0].diff_id = diffIds[1];
  const bytes = Buffer.from(JSON.stringify(config));
  const digest = `sha256:${runTool('sha256sum', [], { input: bytes }).stdout.slice(0, 64)}`;
  const upload = await fetch(`${base}/blobs/uploads/`, { method: 'POST' });
  assert.equal(upload.status, 202);
  const location = new URL(upload.headers.get('location')!, base);
  location.searchParams.set('digest', digest);
  assert.equal((await fetch(location, { method: 'PUT', headers: { 'content-type': 'application/octet-stream' }, body: bytes })).status, 201);
  const tampered = JSON.stringify({ ...manifest, config: { ...manifest.config, digest, size: bytes.length } });
  assert.equal((await fetch(`${base}/manifests/1`, { method: 'PUT', headers: { 'content-type': manifest.mediaType }, body: tampered })).status, 201);

  const r = strata(['verify', name]);
  assert.equal(r.status, 4, r.stderr);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, new RegExp(`^strata: \\S+wrong-keys:1: layer 1 \\([^)]+\\): its key names diff_id ${diffIds[1]}, the config ${diffIds[0]}; the image's layer keys are wrong\\n$`));
});

/** The bytes a strata run reported reading (STRATA_STATS). */
const bytesRead = (stderr: string): number => Number(/^strata: stats: read (\d+) bytes/m.exec(stderr)?.[1]);

/** Two docker-archives (no layer keys) that differ in their app layer alone, and their layers' tar sizes. */
function archives(): { v1: string; v2: string; tars: number[] } {
  const [v1, v2] = [join(work, 'archive-v1.tar'), join(work, 'archive-v2.tar')];
  assert.equal(strata([...image('archive one'), '-o', v1]).status, 0);
  assert.equal(strata([...image('archive two'), '-o', v2]).status, 0);
  const tars = JSON.parse(strata(['inspect', v2, '--json']).stdout).layers.map((l: { size: number }) => l.size);
  return { v1, v2, tars };
}

test('a docker-archive re-pushed with an app change from an empty cache: the layers the tag names are taken by their diff_id, unread; the image runs', async (t) => {
  const { v1, v2, tars } = archives();
  const ref = (host: string, repo = 'from-archive'): string => `docker://${host}/${repo}:release`;
  push(['push', v1, ref(registry.host)]);
  // The same archive to a repository that holds nothing yet: every layer read (the bytes to compare with).
  const fresh = strata(['push', v2, ref(registry.host, 'from-archive-fresh')], { env: { ...emptyCache(), STRATA_STATS: '1' } });
  assert.equal(fresh.status, 0, fresh.stderr);
  const proxy = await CountingProxy.start(registry.port);
  try {
    const r = await strataAsync(['push', v2, ref(proxy.host), '--json'], { ...emptyCache(), STRATA_STATS: '1' });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout).blobs.map((b: any) => b.status), ['skipped', 'skipped', 'skipped', 'pushed', 'pushed']);
    // Read: the tag's manifest and its config; sent: the app layer and the config.
    assert.equal(proxy.requests('GET', /\/manifests\/release$/).length, 1);
    assert.equal(proxy.requests('GET', /\/blobs\//).length, 1);
    const manifest = raw(ref(registry.host));
    assert.equal(proxy.log.filter((p) => /\/blobs\/uploads\//.test(p.url)).reduce((n, p) => n + p.sent, 0), manifest.layers.at(-1).size + manifest.config.size);
    // The unchanged layers' tars were not read (a few KB of manifest and config were).
    const unread = tars.slice(0, -1).reduce((n, s) => n + s, 0);
    t.diagnostic(`bytes read: ${bytesRead(r.stderr)}, by a full push ${bytesRead(fresh.stderr)}; unchanged tars ${unread}`);
    assert.ok(bytesRead(fresh.stderr) - bytesRead(r.stderr) >= unread - 16384, `read ${bytesRead(r.stderr)} bytes, a full push ${bytesRead(fresh.stderr)}; the unchanged tars are ${unread}`);
    // The same blobs as the push that read everything: the tag held strata's own compression of those tars.
    assert.deepEqual(manifest.layers, raw(ref(registry.host, 'from-archive-fresh')).layers);
    assert.equal(runFromRegistry(ref(registry.host)), HELLO);
  } finally {
    await proxy.close();
  }
  // To a repository that holds nothing, with --reuse naming the first (which holds this archive now): every layer is
  // mounted from there, none sent.
  const reused = strata(['push', v2, ref(registry.host, 'from-archive-reused'), '--reuse', ref(registry.host), '--json'], { env: emptyCache() });
  assert.equal(reused.status, 0, reused.stderr);
  assert.deepEqual(JSON.parse(reused.stdout).blobs.map((b: any) => b.status), ['mounted', 'mounted', 'mounted', 'mounted', 'pushed']);
  assert.deepEqual(raw(ref(registry.host, 'from-archive-reused')).layers, raw(ref(registry.host)).layers);
});

test('an image built from the store over a tag whose image has no layer keys (an archive\'s push): its layers are found by their diff_id, read once to hash them, not sent', async () => {
  const { v1 } = archives();
  const ref = (host: string): string => `docker://${host}/keyless:release`;
  push(['push', v1, ref(registry.host)]);
  assert.ok(raw(ref(registry.host)).layers.every((l: any) => l.annotations?.[KEY] === undefined), 'the tag\'s image has no keys');
  const proxy = await CountingProxy.start(registry.port);
  try {
    const r = await strataAsync([...image('archive two'), '--to', ref(proxy.host), '--json'], emptyCache());
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout).blobs.map((b: any) => b.status), ['skipped', 'skipped', 'skipped', 'pushed', 'pushed']);
    const manifest = raw(ref(registry.host));
    // Sent: the app layer and the config alone; the new manifest keys the store layers, for the next push.
    assert.equal(proxy.log.filter((p) => /\/blobs\/uploads\//.test(p.url)).reduce((n, p) => n + p.sent, 0), manifest.layers.at(-1).size + manifest.config.size);
    assert.ok(manifest.layers.slice(0, 3).every((l: any) => typeof l.annotations?.[KEY] === 'string'));
    assert.equal(runFromRegistry(ref(registry.host)), HELLO);
  } finally {
    await proxy.close();
  }
});

test('what an --additional-tag names is read like the tag; a blob of another compression is not taken', () => {
  const { v1, v2 } = archives();
  const ref = (tag: string): string => `docker://${registry.host}/ci:${tag}`;
  push(['push', v1, ref('sha-1'), '--additional-tag', 'latest']);
  // A CI pushing :$SHA with --additional-tag latest: latest names the previous release.
  const report = push(['push', v2, ref('sha-2'), '--additional-tag', 'latest']);
  assert.deepEqual(report.blobs.map((b: any) => b.status), ['skipped', 'skipped', 'skipped', 'pushed', 'pushed']);
  assert.equal(runFromRegistry(ref('latest')), HELLO);
  const zstd = push(['push', v2, ref('zstd'), '--additional-tag', 'latest', '--compression', 'zstd']);
  // The layers gzip-compressed under latest are not taken for zstd ones (the config, the same, is there already).
  assert.deepEqual(zstd.blobs.map((b: any) => b.status), ['pushed', 'pushed', 'pushed', 'pushed', 'skipped']);
});

test('--verify-reused downloads the blobs taken by their diff_id and refuses one that does not hold its tar, the tag unchanged', async () => {
  const { v1, v2 } = archives();
  const name = `docker://${registry.host}/tampered-archive:1`;
  push(['push', v1, name]);
  // The manifest now names the second layer's blob for the first: the config's first diff_id stands over the wrong tar.
  const manifest = raw(name);
  manifest.layers[0] = manifest.layers[1];
  const put = await fetch(`http://${registry.host}/v2/tampered-archive/manifests/1`, { method: 'PUT', headers: { 'content-type': manifest.mediaType }, body: JSON.stringify(manifest) });
  assert.equal(put.status, 201);
  const before = raw(name);
  const r = strata(['push', v2, name, '--verify-reused'], { env: emptyCache() });
  assert.equal(r.status, 4, r.stderr);
  assert.match(r.stderr, /^strata: --verify-reused: layer 1\/4: blob sha256:[0-9a-f]{64} of docker:\/\/[^ ]+\/tampered-archive:1 holds the tar sha256:[0-9a-f]{64}, not its config's diff_id sha256:[0-9a-f]{64}; refusing it \(that image's config is wrong\)$/m);
  assert.deepEqual(raw(name), before, 'the tag still names what it did');
  // An untampered release verifies and is taken.
  const honest = `docker://${registry.host}/honest-archive:1`;
  push(['push', v1, honest]);
  const report = push(['push', v2, honest, '--verify-reused']);
  assert.deepEqual(report.blobs.map((b: any) => b.status), ['skipped', 'skipped', 'skipped', 'pushed', 'pushed']);
});
