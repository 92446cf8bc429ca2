/**
 * An SBOM as an OCI 1.1 referrer of the image manifest, put into this
 * machine's docker-registry (which has no referrers API) by plain requests,
 * the referrers tag scheme's index beside it, and read back from the tag.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, test } from 'node:test';

import { loadClosure } from '../../src/closure/stores/table.js';
import { CYCLONEDX_MEDIA_TYPE, cycloneDx } from '../../src/sbom/cyclonedx.js';
import { OCI_MANIFEST } from '../../src/model/media-types.js';
import { referrerArtifact, referrersIndex, referrersTag } from '../../src/sbom/referrer.js';
import { sbomModel } from '../../src/sbom/sbom.js';
import { strataOk } from '../helpers/cli.js';
import { TestRegistry } from '../helpers/registry.js';
import { buildFixture } from '../helpers/store.js';

let registry: TestRegistry;
before(async () => {
  registry = await TestRegistry.start();
});
after(async () => {
  await registry?.stop();
});

const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

async function putBlob(base: string, bytes: Buffer, digest: string): Promise<void> {
  const start = await fetch(`${base}/blobs/uploads/`, { method: 'POST' });
  assert.equal(start.status, 202);
  const location = new URL(start.headers.get('location')!, base);
  location.searchParams.set('digest', digest);
  const put = await fetch(location, { method: 'PUT', body: bytes, headers: { 'content-type': 'application/octet-stream' } });
  assert.equal(put.status, 201, await put.text());
}

async function putManifest(base: string, reference: string, mediaType: string, bytes: Buffer): Promise<void> {
  const put = await fetch(`${base}/manifests/${reference}`, { method: 'PUT', body: bytes, headers: { 'content-type': mediaType } });
  assert.equal(put.status, 201, await put.text());
}

test('an SBOM pushed as a referrer through the tag scheme is found from the image digest alone', async () => {
  const app = buildFixture('app');
  strataOk(['image', app, '--name', 'app', '--tag', '1', '--to', `docker://${registry.host}/app:1`, '--tls-verify=false']);
  const base = `http://${registry.host}/v2/app`;
  const head = await fetch(`${base}/manifests/1`, { method: 'HEAD', headers: { accept: OCI_MANIFEST } });
  const subject = { mediaType: head.headers.get('content-type')!, digest: head.headers.get('docker-content-digest')!, size: Number(head.headers.get('content-length')) };
  assert.equal(subject.mediaType, OCI_MANIFEST);

  const sbom = Buffer.from(cycloneDx(sbomModel({ closure: await loadClosure({ roots: [app] }), image: { name: 'app', tag: '1', digest: subject.digest }, tool: { name: 'strata', version: '0.1.0' } })));
  const artifact = referrerArtifact(subject, CYCLONEDX_MEDIA_TYPE, sbom);
  for (const blob of artifact.blobs) await putBlob(base, blob.bytes, blob.descriptor.digest);
  await putManifest(base, artifact.manifest.descriptor.digest, OCI_MANIFEST, artifact.manifest.bytes);

  // No referrers API here: the tag scheme it is.
  assert.equal((await fetch(`${base}/referrers/${subject.digest}`)).status, 404);
  const tag = referrersTag(subject.digest);
  assert.equal(tag, `sha256-${subject.digest.slice(7)}`);
  const found = await fetch(`${base}/manifests/${tag}`, { headers: { accept: 'application/vnd.oci.image.index.v1+json' } });
  assert.equal(found.status, 404);
  const index = referrersIndex(undefined, artifact.manifest.descriptor);
  await putManifest(base, tag, index.descriptor.mediaType, index.bytes);
  // Pushing it again keeps one entry.
  const again = referrersIndex(index.bytes, artifact.manifest.descriptor);
  assert.deepEqual(again.bytes, index.bytes);

  // A reader with the image digest only.
  const listed: any = await (await fetch(`${base}/manifests/${tag}`, { headers: { accept: 'application/vnd.oci.image.index.v1+json' } })).json();
  const entry = listed.manifests.find((m: { artifactType?: string }) => m.artifactType === CYCLONEDX_MEDIA_TYPE);
  const manifest: any = await (await fetch(`${base}/manifests/${entry.digest}`, { headers: { accept: OCI_MANIFEST } })).json();
  assert.equal(manifest.subject.digest, subject.digest);
  assert.equal(manifest.artifactType, CYCLONEDX_MEDIA_TYPE);
  assert.equal(manifest.config.mediaType, 'application/vnd.oci.empty.v1+json');
  const blob = Buffer.from(await (await fetch(`${base}/blobs/${manifest.layers[0].digest}`)).arrayBuffer());
  assert.equal(sha256(blob), manifest.layers[0].digest);
  assert.deepEqual(blob, sbom);
  assert.equal(JSON.parse(blob.toString()).metadata.component.hashes[0].content, subject.digest.slice(7));
});
