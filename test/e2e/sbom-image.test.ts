/**
 * --sbom on image, stream and push: the SBOM beside a file (CycloneDX and
 * SPDX), in an OCI layout as a referrer, and in this machine's
 * docker-registry (no referrers API) as a referrer read back through the
 * referrers tag scheme. CycloneDX is checked against its official schema;
 * SPDX 2.3 by hand (no npm package ships its schema). push --sbom from
 * each kind of source: the SBOM an OCI layout or a registry source stores
 * (as it is), one made from the history of an archive with none beside it
 * (a file, and standard input read once), one per platform of an index; a
 * source without any refused before anything is sent.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import { CLI, strata, strataOk } from '../helpers/cli.js';
import { TestRegistry } from '../helpers/registry.js';
import { cycloneDxValidator, spdx23Problems, tagSchemeReferrers } from '../helpers/sbom.js';
import { buildFixture, nixEnv, queryReferences, queryRequisites, runTool, skopeoInspectConfig, tmpDir } from '../helpers/store.js';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const CDX = 'application/vnd.cyclonedx+json';
const SPDX = 'application/spdx+json';

const prop = (c: { properties?: { name: string; value: string }[] }, name: string) => c.properties?.find((p) => p.name === name)?.value;

/** Each store path of a docker-archive and the diff_id of the layer holding it, from the layers' own listings. */
function layerOfPaths(archive: string): Map<string, string> {
  const manifest = JSON.parse(runTool('tar', ['-xOf', archive, 'manifest.json']).stdout)[0];
  const diffIds: string[] = skopeoInspectConfig(`docker-archive:${archive}`).rootfs.diff_ids;
  const held = new Map<string, string>();
  for (const [i, member] of (manifest.Layers as string[]).entries()) {
    const listing = runTool('sh', ['-c', `tar -xOf '${archive}' '${member}' | tar -t`]).stdout.split('\n');
    for (const entry of listing) {
      const m = /^\/?(nix\/store\/[^/]+)\/?$/.exec(entry);
      if (m) held.set(`/${m[1]}`, diffIds[i]!);
    }
  }
  return held;
}

describe('--sbom', () => {
  let registry: TestRegistry;
  let app: string;
  let work: string;
  const validate = cycloneDxValidator();

  before(async () => {
    app = buildFixture('app');
    work = tmpDir('strata-sbom-image-');
    registry = await TestRegistry.start();
  });
  after(async () => {
    await registry?.stop();
  });

  const image = (...args: string[]) => strataOk(['image', app, '--name', 'app', '--tag', '1', '--max-layers', '4', ...args]);

  test('beside a docker-archive: CycloneDX, valid, each store path with the diff_id of the layer that holds it', () => {
    const archive = join(work, 'app.tar');
    const r = image('-o', archive, '--sbom');
    assert.equal(r.stderr, `SBOM (cyclonedx): ${archive}.cdx.json\n`);
    const doc = JSON.parse(readFileSync(`${archive}.cdx.json`, 'utf8'));
    assert.ok(validate(doc), JSON.stringify(validate.errors, null, 2));
    const held = layerOfPaths(archive);
    assert.deepEqual([...held.keys()].sort(), queryRequisites(app).sort());
    assert.deepEqual(
      doc.components.map((c: any) => [c['bom-ref'], prop(c, 'strata:layer_digest')]),
      [...held.entries()].sort(([a], [b]) => (a < b ? -1 : 1)),
    );
    assert.deepEqual(doc.metadata.component, { type: 'container', 'bom-ref': 'image', name: 'app', version: '1' });
    assert.equal(strataOk(['sbom', '--image', archive, '--stored']).stdout, readFileSync(`${archive}.cdx.json`, 'utf8'));
    // stream --sbom of the same image's conf: the same SBOM, byte for byte.
    const conf = join(work, 'app.conf.json');
    strataOk(['conf', app, '--name', 'app', '--tag', '1', '--max-layers', '4', '-o', conf]);
    const streamed = join(work, 'streamed.tar');
    assert.equal(strataOk(['stream', conf, '-o', streamed, '--sbom']).stderr, `SBOM (cyclonedx): ${streamed}.cdx.json\n`);
    assert.deepEqual(readFileSync(`${streamed}.cdx.json`), readFileSync(`${archive}.cdx.json`));
  });

  test('SPDX 2.3 beside an OCI archive: the required fields, a package per store path, DEPENDS_ON for each reference', () => {
    const archive = join(work, 'app.oci.tar');
    const r = image('--to', `oci-archive:${archive}:1`, '--sbom', '--sbom-format', 'spdx');
    assert.equal(r.stderr, `SBOM (spdx): ${archive}.spdx.json\n`);
    const doc = JSON.parse(readFileSync(`${archive}.spdx.json`, 'utf8'));
    assert.deepEqual(spdx23Problems(doc), []);
    const paths = queryRequisites(app).sort();
    const byPath = new Map<string, any>(doc.packages.filter((p: any) => p.packageFileName).map((p: any) => [p.packageFileName, p]));
    assert.deepEqual([...byPath.keys()].sort(), paths);
    const depends = doc.relationships.filter((x: any) => x.relationshipType === 'DEPENDS_ON').map((x: any) => `${x.spdxElementId} ${x.relatedSpdxElement}`).sort();
    const expected = paths.flatMap((p) => queryReferences(p).filter((q) => q !== p).map((q) => `${byPath.get(p).SPDXID} ${byPath.get(q).SPDXID}`)).sort();
    assert.deepEqual(depends, expected);
    assert.equal(byPath.get(app).primaryPackagePurpose, 'APPLICATION');
    // strata sbom --format spdx: the closure alone, the document describing its root.
    const closureDoc = JSON.parse(strataOk(['sbom', app, '--format', 'spdx']).stdout);
    assert.deepEqual(spdx23Problems(closureDoc), []);
    assert.deepEqual(closureDoc.packages.map((p: any) => p.packageFileName).sort(), paths);
    assert.deepEqual(closureDoc.relationships.filter((x: any) => x.relationshipType === 'DESCRIBES').map((x: any) => x.relatedSpdxElement), [byPath.get(app).SPDXID]);
    // The same image, the same bytes.
    const again = join(work, 'again.oci.tar');
    image('--to', `oci-archive:${again}:1`, '--sbom', '--sbom-format', 'spdx');
    assert.deepEqual(readFileSync(`${again}.spdx.json`), readFileSync(`${archive}.spdx.json`));
  });

  test('in an OCI layout: an artifact manifest referring to the image manifest; the layout still reads as one image', () => {
    const layout = join(work, 'layout');
    image('--to', `oci:${layout}:1`, '--sbom');
    const index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8'));
    const [imageEntry, artifactEntry] = index.manifests;
    assert.equal(index.manifests.length, 2);
    assert.equal(imageEntry.annotations['org.opencontainers.image.ref.name'], '1');
    assert.equal(artifactEntry.artifactType, CDX);
    const blob = (digest: string) => readFileSync(join(layout, 'blobs', 'sha256', digest.slice(7)));
    const artifact = JSON.parse(blob(artifactEntry.digest).toString());
    assert.deepEqual(artifact.subject, { mediaType: OCI_MANIFEST, digest: imageEntry.digest, size: imageEntry.size });
    assert.equal(artifact.artifactType, CDX);
    const doc = JSON.parse(blob(artifact.layers[0].digest).toString());
    assert.ok(validate(doc), JSON.stringify(validate.errors, null, 2));
    assert.equal(doc.metadata.component.hashes[0].content, imageEntry.digest.slice(7));
    // One image (several would be a list); the artifact is not read as one.
    const inspected = JSON.parse(strataOk(['inspect', `oci:${layout}`, '--json']).stdout);
    assert.equal(inspected.manifest.digest, imageEntry.digest);
  });

  test('pushed to a registry without the referrers API: read back from the referrers tag, valid; push --sbom adds the one beside a file', async () => {
    const base = `http://${registry.host}/v2/app`;
    strataOk(['image', app, '--name', 'app', '--tag', '1', '--to', `docker://${registry.host}/app:1`, '--tls-verify=false', '--sbom']);
    const head = await fetch(`${base}/manifests/1`, { method: 'HEAD', headers: { accept: OCI_MANIFEST } });
    const subject = head.headers.get('docker-content-digest')!;
    const [sbom, ...more] = await tagSchemeReferrers(base, subject, CDX);
    assert.equal(more.length, 0);
    const doc = JSON.parse(sbom!.toString());
    assert.ok(validate(doc), JSON.stringify(validate.errors, null, 2));
    assert.equal(doc.metadata.component.hashes[0].content, subject.slice(7));
    assert.equal(doc.components.length, queryRequisites(app).length);

    // A file and its SPDX SBOM, pushed together: the tag lists it beside nothing else of this image.
    const archive = join(work, 'pushed.tar');
    image('-o', archive, '--sbom', '--sbom-format', 'spdx');
    const pushed = strataOk(['push', archive, `docker://${registry.host}/app:file`, '--tls-verify=false', '--sbom', '--sbom-format', 'spdx']);
    const digest = pushed.stdout.trim();
    assert.match(pushed.stderr, /SBOM \(spdx\): docker:\/\/\S+\/app:file \(referrer sha256:[0-9a-f]{64}\)/);
    const [spdxDoc] = await tagSchemeReferrers(base, digest, SPDX);
    assert.deepEqual(spdxDoc, readFileSync(`${archive}.spdx.json`));
  });

  test('strata sbom --image (or IMAGE with its transport) reads an image back (docker-archive, OCI layout, registry): the components and layers --sbom wrote, no NAR hashes or references, valid', () => {
    const archive = join(work, 'read-back.tar');
    image('-o', archive, '--sbom');
    const written = JSON.parse(readFileSync(`${archive}.cdx.json`, 'utf8'));
    const componentsOf = (doc: any) => doc.components.map((c: any) => [c['bom-ref'], c.name, c.version ?? '', prop(c, 'strata:layer_digest')]);
    assert.equal(written.components.length, queryRequisites(app).length);
    const ref = `docker://${registry.host}/read-back:1`;
    strataOk(['push', archive, ref, '--tls-verify=false']);
    for (const name of [archive, ref]) {
      const doc = JSON.parse(strataOk(['sbom', '--image', name]).stdout);
      assert.ok(validate(doc), JSON.stringify(validate.errors, null, 2));
      assert.deepEqual(componentsOf(doc), componentsOf(written), name);
      // An image holds no NAR hashes, sizes or references: left out, and the document says so.
      assert.ok(doc.components.every((c: any) => c.hashes === undefined && prop(c, 'nix:nar_size') === undefined && prop(c, 'nix:nar_hash') === undefined));
      assert.deepEqual(doc.dependencies, []);
      assert.match(prop(doc.metadata, 'strata:note')!, /no NAR hashes, NAR sizes or references/);
    }
    // A name with its transport stands alone, as IMAGE.
    for (const name of [ref, `docker-archive:${archive}`]) assert.equal(strataOk(['sbom', name]).stdout, strataOk(['sbom', '--image', name]).stdout, name);

    const layout = join(work, 'read-back-layout');
    image('--to', `oci:${layout}:1`, '--sbom', '--sbom-format', 'spdx');
    const index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8'));
    const blob = (digest: string) => readFileSync(join(layout, 'blobs', 'sha256', digest.slice(7)));
    const spdxWritten = JSON.parse(blob(JSON.parse(blob(index.manifests[1].digest).toString()).layers[0].digest).toString());
    const spdxRead = JSON.parse(strataOk(['sbom', '--image', `oci:${layout}:1`, '--format', 'spdx']).stdout);
    assert.deepEqual(spdx23Problems(spdxRead), []);
    const packagesOf = (doc: any) =>
      doc.packages.filter((p: any) => p.packageFileName).map((p: any) => [p.packageFileName, p.name, p.versionInfo ?? '', /in image layer (sha256:[0-9a-f]{64})/.exec(p.comment)?.[1]]);
    assert.deepEqual(packagesOf(spdxRead), packagesOf(spdxWritten));
    assert.ok(spdxRead.packages.every((p: any) => p.checksums === undefined || p.SPDXID === 'SPDXRef-Image'));
    assert.equal(spdxRead.relationships.filter((x: any) => x.relationshipType === 'DEPENDS_ON').length, 0);
    // The image is described by the manifest it was read from.
    assert.equal(spdxRead.packages[0].checksums[0].checksumValue, index.manifests[0].digest.slice(7));
  });

  test('strata sbom --image: two images, an image and a closure together, or an image whose history names no store paths, are refused (exit 2)', () => {
    const both = strata(['sbom', app, '--image', join(work, 'read-back.tar')]);
    assert.equal(both.status, 2);
    assert.match(both.stderr, /^strata: strata sbom: name one image \(IMAGE or --image\) or a closure \(ROOT or --graph\), not both\n$/);
    const twoImages = strata(['sbom', `docker-archive:${join(work, 'read-back.tar')}`, '--image', join(work, 'read-back.tar')]);
    assert.equal(twoImages.status, 2);
    assert.match(twoImages.stderr, /name one image \(IMAGE or --image\) or a closure/);
    const closureStored = strata(['sbom', app, '--stored']);
    assert.equal(closureStored.status, 2);
    assert.equal(closureStored.stderr, 'strata: strata sbom: --stored is about an image; name one (IMAGE or --image)\n');
    // An image umoci made: no history of store paths.
    const bare = join(work, 'bare-history');
    runTool('umoci', ['init', '--layout', bare]);
    runTool('umoci', ['new', '--image', `${bare}:x`]);
    const r = strata(['sbom', '--image', `oci:${bare}:x`]);
    assert.equal(r.status, 2);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /its history names no store paths/);
  });

  test('strata sbom IMAGE of a registry that wants credentials: --creds, as push takes them; refused without (exit 5), the password never printed', async () => {
    const dir = tmpDir('strata-sbom-auth-');
    const password = 'sbom-pw-4711';
    writeFileSync(join(dir, 'htpasswd'), runTool('htpasswd', ['-Bbn', 'alice', password]).stdout);
    const secure = await TestRegistry.start({ htpasswd: join(dir, 'htpasswd') });
    try {
      // No auth file of this machine's user answers for it.
      const env = { ...nixEnv(), HOME: dir, XDG_RUNTIME_DIR: dir, REGISTRY_AUTH_FILE: join(dir, 'none.json') };
      const ref = `docker://${secure.host}/private/app:1`;
      const creds = ['--creds', `alice:${password}`];
      strataOk(['image', app, '--name', 'app', '--tag', '1', '--max-layers', '4', '--to', ref, ...creds, '--sbom'], { env });
      const denied = strata(['sbom', ref, '--stored'], { env });
      assert.equal(denied.status, 5, denied.stderr);
      assert.match(denied.stderr, /401/);
      const stored = JSON.parse(strataOk(['sbom', ref, '--stored', ...creds], { env }).stdout);
      assert.ok(validate(stored), JSON.stringify(validate.errors, null, 2));
      assert.equal(stored.components.length, queryRequisites(app).length);
      assert.ok(stored.components.every((c: any) => c.hashes?.length === 1), 'the stored SBOM has the NAR hashes');
      const fromHistory = JSON.parse(strataOk(['sbom', ref, ...creds], { env }).stdout);
      assert.deepEqual(fromHistory.metadata.component.hashes, stored.metadata.component.hashes);
      assert.ok(!denied.stderr.includes(password));
    } finally {
      await secure.stop();
    }
  });

  test('nowhere to put it: exit 2 before anything is written', () => {
    const stdout = strata(['image', app, '--sbom']);
    assert.equal(stdout.status, 2);
    assert.match(stdout.stderr, /^strata: --sbom: - has no place for an SBOM; write to a file/);
    assert.equal(stdout.stdout, '');
  });

  // push --sbom from each kind of source.
  const push = (...args: string[]) => strataOk(['push', ...args, '--tls-verify=false', '--sbom']);
  const repository = (name: string) => `http://${registry.host}/v2/${name}`;
  const at = (name: string) => `docker://${registry.host}/${name}`;

  test('from an OCI layout written with --sbom, then from that registry image: the stored SBOM byte for byte, a referrer of each pushed manifest', async () => {
    const layout = join(work, 'push-layout');
    image('--to', `oci:${layout}:1`, '--sbom');
    const blob = (digest: string) => readFileSync(join(layout, 'blobs', 'sha256', digest.slice(7)));
    const [imageEntry, artifactEntry] = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')).manifests;
    const stored = blob(JSON.parse(blob(artifactEntry.digest).toString()).layers[0].digest);
    assert.ok(validate(JSON.parse(stored.toString())), JSON.stringify(validate.errors, null, 2));

    // Layers as the layout stores them (uncompressed): the layout's manifest, which the SBOM names.
    const same = push(`oci:${layout}:1`, at('layout:1'), '--compression', 'none');
    assert.equal(same.stdout.trim(), imageEntry.digest);
    assert.match(same.stderr, /^SBOM \(cyclonedx\): docker:\/\/\S+\/layout:1 \(referrer sha256:[0-9a-f]{64}\)\n$/m);
    assert.doesNotMatch(same.stderr, /warning/);
    assert.deepEqual(await tagSchemeReferrers(repository('layout'), imageEntry.digest, CDX), [stored]);

    // Gzipped on the way: another manifest, the referrer's subject; the warning names both.
    const gzipped = push(`oci:${layout}:1`, at('layout:gz'));
    const digest = gzipped.stdout.trim();
    assert.notEqual(digest, imageEntry.digest);
    assert.match(gzipped.stderr, new RegExp(`^strata: warning: --sbom: the SBOM stored with oci:\\S+:1 names its manifest ${imageEntry.digest}; the push wrote the image as ${digest} \\(`, 'm'));
    assert.deepEqual(await tagSchemeReferrers(repository('layout'), digest, CDX), [stored]);

    // A registry source: its referrer (found through the tag scheme) goes with the copy.
    const copy = push(at('layout:gz'), at('copy:1'));
    assert.equal(copy.stdout.trim(), digest);
    assert.doesNotMatch(copy.stderr, /warning/);
    assert.deepEqual(await tagSchemeReferrers(repository('copy'), digest, CDX), [stored]);
    // strata sbom --stored reads it back, as it is, from the layout and from each registry image.
    for (const name of [`oci:${layout}:1`, at('layout:1'), at('layout:gz'), at('copy:1')]) assert.equal(strataOk(['sbom', name, '--stored']).stdout, stored.toString(), name);

    // A damaged stored SBOM: exit 4 naming it, nothing pushed.
    const damaged = join(work, 'damaged-layout');
    cpSync(layout, damaged, { recursive: true });
    const documentDigest = JSON.parse(blob(artifactEntry.digest).toString()).layers[0].digest;
    writeFileSync(join(damaged, 'blobs', 'sha256', documentDigest.slice(7)), '{}');
    const r = strata(['push', `oci:${damaged}:1`, at('damaged:1'), '--tls-verify=false', '--sbom']);
    assert.equal(r.status, 4, r.stderr);
    assert.match(r.stderr, new RegExp(`^strata: oci:\\S+damaged-layout:1: the referrer document ${documentDigest} hashes to sha256:[0-9a-f]{64}; the stored SBOM is damaged`));
    assert.equal((await fetch(`${repository('damaged')}/manifests/1`)).status, 404);
  });

  test('from an archive with no SBOM beside it, as a file and on standard input (read once): made from its history, naming the pushed manifest, as strata sbom --image reads it back', async () => {
    const archive = join(work, 'no-sbom.tar');
    image('-o', archive);
    const fromFile = push(archive, at('history-file:1')).stdout;
    const piped = spawnSync(process.execPath, [CLI, 'push', '-', at('history-stdin:1'), '--tls-verify=false', '--sbom'], { input: readFileSync(archive), env: nixEnv() });
    assert.equal(piped.status, 0, piped.stderr.toString());
    for (const [name, out] of [['history-file', fromFile], ['history-stdin', piped.stdout.toString()]] as const) {
      const digest = out.trim();
      const [sbom, ...more] = await tagSchemeReferrers(repository(name), digest, CDX);
      assert.equal(more.length, 0);
      const doc = JSON.parse(sbom!.toString());
      assert.ok(validate(doc), JSON.stringify(validate.errors, null, 2));
      assert.deepEqual(doc.metadata.component.hashes, [{ alg: 'SHA-256', content: digest.slice(7) }]);
      assert.deepEqual(doc.components.map((c: any) => c['bom-ref']).sort(), queryRequisites(app).sort());
      assert.equal(sbom!.toString(), strataOk(['sbom', '--image', at(`${name}:1`)]).stdout, name);
      assert.equal(strataOk(['sbom', at(`${name}:1`), '--stored']).stdout, sbom!.toString(), name);
    }
    // Nothing stored with the archive itself.
    const none = strata(['sbom', '--image', archive, '--stored']);
    assert.equal(none.status, 2);
    assert.equal(none.stdout, '');
    assert.match(none.stderr, /^strata: \S+no-sbom\.tar: no cyclonedx SBOM stored with it \(beside its file, or as a referrer of its manifest in its OCI layout or registry\); without --stored, strata sbom makes one from its history\n$/);
  });

  test('a source with no SBOM and no store paths in its history: one line naming it and the fix, exit 2, nothing pushed', async () => {
    // An image umoci made: no history of store paths.
    const bare = join(work, 'bare-push');
    runTool('umoci', ['init', '--layout', bare]);
    runTool('umoci', ['new', '--image', `${bare}:x`]);
    const refused = strata(['push', `oci:${bare}:x`, at('bare:x'), '--tls-verify=false', '--sbom']);
    assert.equal(refused.status, 2);
    assert.equal(refused.stdout, '');
    assert.equal(
      refused.stderr,
      `strata: --sbom: oci:${bare}:x has no cyclonedx SBOM beside it or stored with it, and its history names no store paths to make one from; write the image with strata image or stream --sbom, or push it without --sbom\n`,
    );
    assert.equal((await fetch(`${repository('bare')}/manifests/x`)).status, 404);
  });

  test('a multi-platform index: an SBOM referring to each platform\'s manifest, made from its history; a copy of the index carries them as they are', async () => {
    const confs = ['amd64', 'arm64'].map((arch) => {
      const file = join(work, `${arch}.json`);
      strataOk(['conf', app, '--name', 'app', '--tag', '1', '--architecture', arch, '-o', file]);
      return file;
    });
    const multi = join(work, 'multi');
    strataOk(['stream', ...confs, '--to', `oci:${multi}:1`, '--allow-foreign-binaries']);
    const pushed = push(`oci:${multi}:1`, at('multi:1'));
    assert.equal(pushed.stderr.match(/^SBOM \(cyclonedx\): docker:\/\/\S+\/multi:1 \(referrer sha256:[0-9a-f]{64}\)$/gm)?.length, 2);
    const index: any = await (await fetch(`${repository('multi')}/manifests/1`, { headers: { accept: OCI_INDEX } })).json();
    assert.deepEqual(index.manifests.map((m: any) => m.platform.architecture), ['amd64', 'arm64']);
    const documents: Buffer[] = [];
    for (const m of index.manifests) {
      const [sbom, ...more] = await tagSchemeReferrers(repository('multi'), m.digest, CDX);
      assert.equal(more.length, 0);
      const doc = JSON.parse(sbom!.toString());
      assert.ok(validate(doc), JSON.stringify(validate.errors, null, 2));
      assert.deepEqual(doc.metadata.component.hashes, [{ alg: 'SHA-256', content: m.digest.slice(7) }]);
      assert.equal(sbom!.toString(), strataOk(['sbom', at('multi:1'), '--platform', `linux/${m.platform.architecture}`]).stdout);
      documents.push(sbom!);
    }
    // Copied to another repository: the stored SBOMs (naming multi:1), not new ones.
    push(at('multi:1'), at('multi-copy:1'));
    for (const [i, m] of index.manifests.entries()) assert.deepEqual(await tagSchemeReferrers(repository('multi-copy'), m.digest, CDX), [documents[i]]);
  });
});
