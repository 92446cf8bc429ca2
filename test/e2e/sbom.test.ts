/**
 * SBOMs of real store closures: names split as Nix splits them (checked
 * against nix-instantiate), CycloneDX documents valid against the official
 * CycloneDX 1.6 JSON schema (as @cyclonedx/cyclonedx-library ships it),
 * deterministic bytes.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';

import { loadClosure } from '../../src/closure/stores/table.js';
import { cycloneDx } from '../../src/sbom/cyclonedx.js';
import { parseDrvName } from '../../src/sbom/drv-name.js';
import { sbomModel } from '../../src/sbom/sbom.js';
import { strataOk } from '../helpers/cli.js';
import { cycloneDxValidator } from '../helpers/sbom.js';
import { buildFixture, graphFiles, queryReferences, runTool, nixEnv, tmpDir } from '../helpers/store.js';

const tool = { name: 'strata', version: '0.1.0' };

describe('parseDrvName', () => {
  test('splits as builtins.parseDrvName does', () => {
    const names = ['hello-2.12.1', 'apache-httpd-2.0.48', 'rip-grep-1.2', '7zip_archiver-0.2', 'gcc-1-2', 'bash--1-2', 'xvidtune-?1-2', 'glibc-2.38-44-bin', 'data', 'lib-a', 'nix-0.12pre12876', 'foo-', 'perl5.36.0-URI-5.21', 'postgresql-15-15.18-0+deb12u1'];
    const expr = `map builtins.parseDrvName (builtins.fromJSON ''${JSON.stringify(names)}'')`;
    const nix = JSON.parse(runTool('nix-instantiate', ['--eval', '--json', '--strict', '-E', expr], { env: nixEnv() }).stdout);
    assert.deepEqual(names.map(parseDrvName), nix);
  });
});

describe('CycloneDX', () => {
  const validate = cycloneDxValidator();

  test('the schema validator rejects what breaks the schema', () => {
    assert.equal(validate({ bomFormat: 'CycloneDX', specVersion: '1.6', components: [{ type: 'box', name: 'x' }] }), false);
  });

  test("the app fixture's closure from the store: a component per path with its NAR hash and size, references as dependencies, valid", async () => {
    const app = buildFixture('app');
    const closure = await loadClosure({ roots: [app] });
    const layers = [
      { digest: `sha256:${'a'.repeat(64)}`, paths: closure.paths.filter((p) => p.path !== app).map((p) => p.path) },
      { digest: `sha256:${'b'.repeat(64)}`, paths: [app] },
    ];
    const text = cycloneDx(sbomModel({ closure, layers, image: { name: 'app', tag: 'v1', digest: `sha256:${'c'.repeat(64)}` }, tool }));
    const doc: any = JSON.parse(text);
    assert.ok(validate(doc), JSON.stringify(validate.errors, null, 2));
    assert.equal(doc.components.length, closure.paths.length);
    const appComponent = doc.components.find((c: { 'bom-ref': string }) => c['bom-ref'] === app);
    assert.equal(appComponent.name, 'app');
    assert.equal(appComponent.type, 'application');
    const prop = (c: { properties: { name: string; value: string }[] }, name: string) => c.properties.find((p) => p.name === name)?.value;
    const hash = closure.paths.find((p) => p.path === app)!.narHash!;
    assert.deepEqual(appComponent.hashes, [{ alg: 'SHA-256', content: hash.slice(7) }]);
    assert.equal(prop(appComponent, 'nix:nar_size'), String(closure.paths.find((p) => p.path === app)!.narSize));
    assert.equal(prop(appComponent, 'strata:layer_digest'), `sha256:${'b'.repeat(64)}`);
    const deps = new Map(doc.dependencies.map((d: { ref: string; dependsOn: string[] }) => [d.ref, d.dependsOn]));
    assert.deepEqual(deps.get(app), queryReferences(app).filter((r) => r !== app).sort());
    assert.deepEqual(deps.get('image'), [app]);
    assert.equal(doc.metadata.component.version, 'v1');
    // Same inputs, same bytes.
    assert.equal(cycloneDx(sbomModel({ closure: await loadClosure({ roots: [app] }), layers, image: { name: 'app', tag: 'v1', digest: `sha256:${'c'.repeat(64)}` }, tool })), text);
  });

  test('from a plain registration graph file: no hashes, still valid', async () => {
    const closure = await loadClosure({ graph: graphFiles('app').registration });
    const doc: any = JSON.parse(cycloneDx(sbomModel({ closure, tool })));
    assert.ok(validate(doc), JSON.stringify(validate.errors, null, 2));
    assert.ok(doc.components.every((c: { hashes?: unknown }) => c.hashes === undefined));
    assert.equal(doc.metadata.component, undefined);
    assert.deepEqual(
      doc.components.map((c: { name: string; version?: string }) => `${c.name}@${c.version ?? ''}`).sort(),
      ['app@', 'busybox@', 'data@', 'lib-a@', 'lib-b@'],
    );
  });

  test('strata sbom ROOT and --graph FILE: valid, the same bytes from the store and from a structured-attrs graph, -o writes the file', () => {
    const app = buildFixture('app');
    const fromStore = strataOk(['sbom', app]).stdout;
    assert.ok(validate(JSON.parse(fromStore)), JSON.stringify(validate.errors));
    assert.equal(strataOk(['sbom', '--graph', graphFiles('app').attrsJson]).stdout, fromStore);
    const out = join(tmpDir('strata-sbom-'), 'sbom.json');
    strataOk(['sbom', app, '-o', out]);
    assert.equal(readFileSync(out, 'utf8'), fromStore);
  });
});
