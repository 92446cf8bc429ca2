import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { accessSync, constants, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, strata } from '../helpers/cli.js';
import { REPO_ROOT } from '../helpers/store.js';

test('the bin is an executable script named strata', () => {
  const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8'));
  assert.equal(join(REPO_ROOT, pkg.bin.strata), CLI);
  accessSync(CLI, constants.X_OK);
  const r = spawnSync(CLI, ['--version']);
  assert.equal(r.status, 0);
  assert.equal(r.stdout.toString().trim(), pkg.version);
});

test('--help lists every command, and each command has its own help', () => {
  const help = strata(['--help']);
  assert.equal(help.status, 0);
  for (const command of ['closure', 'plan', 'conf', 'stream', 'image']) {
    assert.match(help.stdout, new RegExp(`strata ${command}`));
    const own = strata([command, '--help']);
    assert.equal(own.status, 0);
    assert.match(own.stdout, new RegExp(`^strata ${command}`));
  }
  assert.match(strata(['plan', '--help']).stdout, /--max-layers/);
  assert.match(strata(['stream', '--help']).stdout, /--repo-tag/);
});

test('usage errors are one line and exit 2', () => {
  for (const args of [[], ['frobnicate'], ['plan', '--graph', '/nonexistent/graph.json'], ['plan', '--max-layers', '1', '--graph', '/dev/null'], ['stream']]) {
    const r = strata(args);
    assert.equal(r.status, 2, `strata ${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /^strata: [^\n]+\n$/, `strata ${args.join(' ')}`);
  }
  assert.match(strata(['plan', '--graph', '/nonexistent/graph.json']).stderr, /\/nonexistent\/graph\.json: cannot read graph file/);
});
