import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { strata, strataOk } from '../helpers/cli.js';
import { CountingProxy, TestRegistry, emptyCacheEnv, runPulled, strataAsync } from '../helpers/registry.js';
import { buildFixture, runTool, tmpDir } from '../helpers/store.js';

let app: string;
let work: string;
let image: string[];
let registry: TestRegistry;
const HELLO = 'hello from strata\nthe data says hi\n';
const skopeo = (...args: string[]): string => runTool('skopeo', ['--insecure-policy', ...args]).stdout;
const raw = (ref: string): any => JSON.parse(skopeo('inspect', '--tls-verify=false', '--raw', ref));
const digestOf = (ref: string): string => JSON.parse(skopeo('inspect', '--tls-verify=false', ref)).Digest;
const emptyCache = emptyCacheEnv;
const runFromRegistry = (ref: string): string => runPulled(ref, work);


before(async () => {
  app = buildFixture('app');
  work = tmpDir('strata-registry-stream-');
  // 20 MiB that does not compress: its blob streams for a while.
  const big = join(work, 'big');
  mkdirSync(join(big, 'etc'), { recursive: true });
  writeFileSync(join(big, 'etc', 'noise'), randomBytes(20 << 20));
  image = ['image', app, '--name', 'app', '--tag', '1', '--max-layers', '4', '--entrypoint', `${app}/bin/hello`, '--customisation', big];
  registry = await TestRegistry.start();
});
after(async () => {
  await registry?.stop();
});

for (const compression of ['gzip', 'zstd'] as const) {
  test(`a first ${compression} push sends each layer as it is compressed: a big one in one streamed PATCH, digest at the end; a small one whole in its PUT; the same bytes again from an empty cache`, async () => {
    const proxy = await CountingProxy.start(registry.port);
    try {
      const r = await strataAsync([...image, '--compression', compression, '--to', `docker://${proxy.host}/stream-${compression}:1`, '--json'], emptyCache());
      assert.equal(r.status, 0, r.stderr);
      const manifest = raw(`docker://${registry.host}/stream-${compression}:1`);
      assert.ok(manifest.layers.every((l: any) => l.mediaType === `application/vnd.oci.image.layer.v1.tar+${compression}`));
      const big = manifest.layers.at(-1);
      assert.ok(big.size > 16 << 20, 'the noise layer is still 20 MiB');
      // Nothing knew a layer's digest: none was HEADed, each was sent in one session whose
      // PUT names the digest.
      const layerDigests = new Set(manifest.layers.map((l: any) => l.digest));
      const heads = proxy.requests('HEAD', /\/blobs\/sha256:/).filter((h) => layerDigests.has(h.url.split('/').at(-1)));
      assert.equal(heads.length, 0);
      const puts = proxy.requests('PUT', /\/blobs\/uploads\//).map((p) => new URL(p.url, 'http://x').searchParams.get('digest'));
      assert.deepEqual(puts.filter((d) => layerDigests.has(d)).sort(), [...layerDigests].sort());
      // Each blob's bytes went once: the big one in one PATCH of its session, streaming the whole blob (as docker and
      // skopeo push), then an empty PUT; each of at most 1 MiB whole in the PUT naming its digest, with no PATCH.
      assert.deepEqual(sentPerBlob(proxy, [...manifest.layers, manifest.config]), [...manifest.layers, manifest.config].map((b) => (b.size > 1 << 20 ? { patched: [b.size], put: 0 } : { patched: [], put: b.size })));
      assert.ok(manifest.layers.filter((l: any) => l.size <= 1 << 20).length >= 2, 'some layers small enough to go whole');
      if (compression === 'gzip') assert.equal(runFromRegistry(`docker://${registry.host}/stream-${compression}:1`), HELLO);
      else {
        // docker-archives hold no zstd: copied to an OCI layout, the noise layer unpacks with zstd's own tool.
        const layout = join(work, 'pulled-zstd');
        skopeo('copy', '--quiet', '--src-tls-verify=false', `docker://${registry.host}/stream-zstd:1`, `oci:${layout}:1`);
        const listed = runTool('sh', ['-c', `zstd -dc "$1" | tar -tvf -`, 'sh', join(layout, 'blobs', 'sha256', big.digest.slice('sha256:'.length))]).stdout;
        assert.match(listed, new RegExp(`^\\S+ \\S+ +${20 << 20} .* etc/noise$`, 'm'));
      }

      // Another run with nothing cached makes the same blobs and manifest.
      const again = strata([...image, '--compression', compression, '--to', `docker://${registry.host}/stream-${compression}-again:1`], { env: emptyCache() });
      assert.equal(again.status, 0, again.stderr);
      assert.equal(again.stdout.trim(), digestOf(`docker://${registry.host}/stream-${compression}:1`));
    } finally {
      await proxy.close();
    }
  });
}

test('blobs whose digest is known (an OCI layout\'s): a small one goes whole in its PUT, a big one in one PATCH; the image runs', async () => {
  const layout = join(work, 'layout-gzip');
  strataOk([...image, '--to', `oci:${layout}:1`, '--compression', 'gzip']);
  const proxy = await CountingProxy.start(registry.port);
  try {
    const r = await strataAsync(['push', `oci:${layout}:1`, `docker://${proxy.host}/known:1`, '--json'], emptyCache());
    assert.equal(r.status, 0, r.stderr);
    const manifest = raw(`docker://${registry.host}/known:1`);
    const blobs = [...manifest.layers, manifest.config];
    assert.ok(blobs.some((b) => b.size > 1 << 20) && blobs.some((b) => b.size <= 1 << 20));
    assert.deepEqual(sentPerBlob(proxy, blobs), blobs.map((b) => (b.size > 1 << 20 ? { patched: [b.size], put: 0 } : { patched: [], put: b.size })));
    assert.equal(runFromRegistry(`docker://${registry.host}/known:1`), HELLO);
  } finally {
    await proxy.close();
  }
});

test('a docker-archive pushed as zstd (its tars hashed on the zstd thread): the blobs the built image pushes; a tar that is not its diff_id is refused, leaving no tag', async () => {
  const archive = join(work, 'stream.tar');
  strataOk([...image, '-o', archive]);
  strataOk([...image, '--compression', 'zstd', '--to', `docker://${registry.host}/built-zstd:1`], { env: emptyCache() });
  const r = await strataAsync(['push', archive, `docker://${registry.host}/archive-zstd:1`, '--compression', 'zstd'], emptyCache());
  assert.equal(r.status, 0, r.stderr);
  const layers = (ref: string): string[] => raw(ref).layers.map((l: any) => l.digest);
  assert.deepEqual(layers(`docker://${registry.host}/archive-zstd:1`), layers(`docker://${registry.host}/built-zstd:1`));

  // One byte of the noise file changed in its layer's tar (more than one zstd job), which the config's diff_id no longer names.
  const unpacked = join(work, 'tampered');
  mkdirSync(unpacked);
  runTool('tar', ['-xf', archive, '-C', unpacked]);
  const tars = readdirSync(unpacked, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.tar')).map((f) => join(unpacked, f));
  const noise = tars.reduce((a, b) => (statSync(a).size >= statSync(b).size ? a : b));
  const bytes = readFileSync(noise);
  assert.ok(bytes.length > 16 << 20);
  bytes[bytes.length >> 1] ^= 0xff;
  writeFileSync(noise, bytes);
  const tampered = join(work, 'tampered.tar');
  runTool('tar', ['-cf', tampered, '-C', unpacked, '.']);
  const refused = await strataAsync(['push', tampered, `docker://${registry.host}/tampered-zstd:1`, '--compression', 'zstd'], emptyCache());
  assert.equal(refused.status, 4, refused.stderr);
  assert.match(refused.stderr, /^strata: layer \([^\n]*\): content digest sha256:[0-9a-f]{64} instead of sha256:[0-9a-f]{64}; [^\n]*\n$/m);
  assert.equal((await fetch(`http://${registry.host}/v2/tampered-zstd/manifests/1`, { method: 'HEAD' })).status, 404);
});

/** For each blob: the bodies of the PATCHes of the session its upload was completed in, and the body of that PUT. */
function sentPerBlob(proxy: CountingProxy, blobs: { digest: string }[]): { patched: number[]; put: number }[] {
  const session = (url: string): string => new URL(url, 'http://x').pathname;
  const puts = proxy.requests('PUT', /\/blobs\/uploads\//);
  return blobs.map((b) => {
    const put = puts.filter((p) => new URL(p.url, 'http://x').searchParams.get('digest') === b.digest);
    assert.equal(put.length, 1, `${b.digest} completed once`);
    return { patched: proxy.requests('PATCH', /\/blobs\/uploads\//).filter((p) => session(p.url) === session(put[0]!.url)).map((p) => p.sent), put: put[0]!.sent };
  });
}

test('--additional-tag: the blobs are sent once, the manifest put under every tag', async () => {
  const proxy = await CountingProxy.start(registry.port);
  try {
    const r = await strataAsync([...image, '--to', `docker://${proxy.host}/tags:1`, '--additional-tag', 'stable', '--additional-tag', '2026.12', '--json'], emptyCache());
    assert.equal(r.status, 0, r.stderr);
    const digest = JSON.parse(r.stdout).digest;
    for (const tag of ['1', 'stable', '2026.12']) assert.equal(digestOf(`docker://${registry.host}/tags:${tag}`), digest);
    assert.deepEqual(proxy.requests('PUT', /\/manifests\//).map((p) => p.url.split('/').at(-1)), ['1', 'stable', '2026.12']);
    const manifest = raw(`docker://${registry.host}/tags:stable`);
    const committed = proxy.requests('PUT', /\/blobs\/uploads\//).map((p) => new URL(p.url, 'http://x').searchParams.get('digest'));
    assert.deepEqual(committed.sort(), [manifest.config.digest, ...manifest.layers.map((l: any) => l.digest)].sort(), 'each blob once');
  } finally {
    await proxy.close();
  }
  const bad = strata([...image, '--to', `docker://${registry.host}/tags:1`, '--additional-tag', 'no/slash']);
  assert.equal(bad.status, 2);
  assert.equal(bad.stderr, "strata: --additional-tag no/slash: not a valid tag (letters, digits, _ . -, up to 128)\n");
});
