/**
 * push --sbom from every kind of source into this machine's docker-registry
 * (no referrers API), each SBOM read back through the referrers tag scheme:
 * the one an OCI layout stores (as it is), the one a registry source
 * stores, one made from the image history for an archive with none beside
 * it (as a file and on standard input); a source without any, or with
 * several platforms, is refused before anything is sent.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import { CLI, strata, strataOk } from '../helpers/cli.js';
import { TestRegistry } from '../helpers/registry.js';
import { cycloneDxValidator, tagSchemeReferrers } from '../helpers/sbom.js';
import { buildFixture, nixEnv, queryRequisites, runTool, tmpDir } from '../helpers/store.js';

const CDX = 'application/vnd.cyclonedx+json';

describe('push --sbom', () => {
  let registry: TestRegistry;
  let app: string;
  let work: string;
  const validate = cycloneDxValidator();

  before(async () => {
    app = buildFixture('app');
    work = tmpDir('strata-sbom-push-');
    registry = await TestRegistry.start();
  });
  after(async () => {
    await registry?.stop();
  });

  const image = (...args: string[]) => strataOk(['image', app, '--name', 'app', '--tag', '1', '--max-layers', '4', ...args]);
  const push = (...args: string[]) => strataOk(['push', ...args, '--tls-verify=false', '--sbom']);
  const repository = (name: string) => `http://${registry.host}/v2/${name}`;
  const at = (name: string) => `docker://${registry.host}/${name}`;

  test('from an OCI layout written with --sbom, then from that registry image: the stored SBOM byte for byte, a referrer of each pushed manifest', async () => {
    const layout = join(work, 'layout');
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
  });

  test('from an archive with no SBOM beside it, as a file and on standard input (read once): made from its history, naming the pushed manifest, as strata sbom --image reads it back', async () => {
    const archive = join(work, 'app.tar');
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
    }
  });

  test('a source with no SBOM and no store paths in its history, or with several platforms: one line naming it, exit 2, nothing pushed', async () => {
    // An image umoci made: no history of store paths.
    const bare = join(work, 'bare');
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

    const confs = ['amd64', 'arm64'].map((arch) => {
      const file = join(work, `${arch}.json`);
      strataOk(['conf', app, '--name', 'app', '--tag', '1', '--architecture', arch, '-o', file]);
      return file;
    });
    const multi = join(work, 'multi');
    strataOk(['stream', ...confs, '--to', `oci:${multi}:1`, '--allow-foreign-binaries']);
    const index = strata(['push', `oci:${multi}:1`, at('multi:1'), '--tls-verify=false', '--sbom']);
    assert.equal(index.status, 2);
    assert.match(index.stderr, /^strata: --sbom: oci:\S+:1 holds 2 images \(one per platform\) and an SBOM describes one; push one platform's image \(strata pull \S+ oci:DIR --platform OS\/ARCH\) with --sbom, or the index without it\n$/);
    assert.equal((await fetch(`${repository('multi')}/manifests/1`)).status, 404);
  });
});
