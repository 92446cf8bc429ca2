/**
 * strata render nix: the Nix string escaper against nix-instantiate, and
 * rendered image.nix files with hostile strings built with real nix-build
 * (over test/fixtures/fake-pkgs.nix and the working tree's strata).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';

import { nixString } from '../src/render/nix.js';
import { strata, strataOk } from './helpers/cli.js';
import { REPO_ROOT, buildFixture, nixEnv, runTool, skopeoInspect, tmpDir, unpackAndRun } from './helpers/store.js';

const HOSTILE = [
  '',
  'plain',
  'say "hi"',
  'back\\slash \\\\ \\n \\${x}',
  '${x}',
  '$${x}',
  '$$${x}}',
  '${builtins.throw "boom"}',
  '$',
  'end$',
  '\'\'${x}\'\' \'\'$ \'\'\\n',
  'line1\nline2\r\n\ttab',
  'unicode: ü ß 日本語 🐳 \u2028',
  '# not a comment */ /* nor this',
];

const FAKE_PKGS = `import ${join(REPO_ROOT, 'test', 'fixtures', 'fake-pkgs.nix')} { nodePath = ${nixString(process.execPath)}; strataRepo = ${nixString(REPO_ROOT)}; }`;

describe('strata render nix', () => {
  test('nixString: every hostile string parses and evaluates back to itself', () => {
    const expr = `[ ${HOSTILE.map(nixString).join(' ')} ]`;
    runTool('nix-instantiate', ['--parse', '-E', expr], { env: nixEnv() });
    const out = runTool('nix-instantiate', ['--eval', '--strict', '--json', '-E', expr], { env: nixEnv() }).stdout;
    assert.deepEqual(JSON.parse(out), HOSTILE);
  });

  test('a rendered image.nix with hostile strings parses, evaluates to the same strings, builds and runs', () => {
    const busybox = buildFixture('busybox');
    const config = {
      Cmd: [`${busybox}/bin/sh`, '-c', 'echo "$GREETING"'],
      Env: ['GREETING=' + HOSTILE.slice(1).join('|').replace(/[\r\n\t]/g, ' ')],
      Labels: Object.fromEntries(HOSTILE.map((s, i) => [`l${i}`, s])),
    };
    const dir = tmpDir('strata-render-nix-');
    const file = join(dir, 'image.nix');
    strataOk(['render', 'nix', '--name', 'hostile', '--tag', 'v1', '--contents', busybox, '--config', JSON.stringify(config), '--max-layers', '5', '-o', file]);
    const text = readFileSync(file, 'utf8');
    runTool('nix-instantiate', ['--parse', file], { env: nixEnv() });
    assert.ok(!text.includes('&quot;') && !text.includes('&#x'), 'no HTML escaping');

    const args = [file, '-I', `strata=${REPO_ROOT}`, '--arg', 'pkgs', FAKE_PKGS];
    const evaluated = runTool('nix-instantiate', ['--eval', '--strict', '--json', '-E',
      `(import ${file} { pkgs = ${FAKE_PKGS}; strataLib = { streamLayeredImage = a: { inherit (a) name tag config maxLayers; }; }; })`], { env: nixEnv() }).stdout;
    assert.deepEqual(JSON.parse(evaluated), { name: 'hostile', tag: 'v1', config, maxLayers: 5 });

    // npmRegistry reaches nix/ and so the strata package it builds.
    const registry = runTool('nix-instantiate', [...args, '--argstr', 'npmRegistry', 'http://127.0.0.1:4873/', '--arg', 'pkgs',
      `${FAKE_PKGS} // { callPackage = f: a: throw "strata built with npmRegistry \${a.npmRegistry}"; }`], { env: nixEnv(), allowFailure: true });
    assert.match(registry.stderr, /strata built with npmRegistry http:\/\/127\.0\.0\.1:4873\//);

    const script = runTool('nix-build', [...args, '--no-out-link'], { env: nixEnv() }).stdout.trim().split('\n').pop()!;
    const archive = join(dir, 'image.tar');
    writeFileSync(archive, execFileSync(script, [], { maxBuffer: 1 << 30 }));
    const inspected = skopeoInspect(`docker-archive:${archive}`);
    assert.deepEqual(inspected.Labels, config.Labels);
    assert.deepEqual(inspected.Env, config.Env);
    const run = unpackAndRun(archive, []);
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stdout, config.Env[0]!.slice('GREETING='.length) + '\n');
  });

  test('pkgs attributes and local paths as contents; bad input refused', () => {
    const dir = tmpDir('strata-render-nix-');
    const file = join(dir, 'image.nix');
    writeFileSync(join(dir, 'marker'), 'x');
    strataOk(['render', 'nix', '--name', 'n', '--contents', 'jq', 'a.b-c', './marker', '/etc/hostname', '-o', file]);
    const text = readFileSync(file, 'utf8');
    assert.match(text, /\(fromPkgs "jq"\)/);
    assert.match(text, /\(fromPkgs "a\.b-c"\)/);
    runTool('nix-instantiate', ['--parse', file], { env: nixEnv() });
    assert.notEqual(strata(['render', 'nix', '--name', 'n', '--contents', 'a b"${x}']).status, 0);
    assert.notEqual(strata(['render', 'nix', '--name', 'n', '--config', '[1]']).status, 0);
    assert.notEqual(strata(['render', 'nix', '--name', '']).status, 0);
  });
});
