import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { strataOk } from '../helpers/cli.js';
import { REPO_ROOT, buildFixture, nixEnv, tmpDir } from '../helpers/store.js';

// README's library example, run as written: `strata` resolves to this
// checkout (as a dependency would), and the placeholder store path is a real one.

test('README: the library example runs as written, and writes what the CLI writes', () => {
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('\n## Library\n'));
  const code = /```ts\n([\s\S]*?)```/.exec(section)?.[1];
  assert.ok(code?.includes("from 'strata'"), 'README has a ts example importing strata under ## Library');
  const app = buildFixture('app');
  const work = tmpDir('library-example');
  mkdirSync(join(work, 'node_modules'));
  symlinkSync(REPO_ROOT, join(work, 'node_modules', 'strata'));
  writeFileSync(join(work, 'example.mjs'), code!.replaceAll('/nix/store/...-app', app));
  const run = spawnSync(process.execPath, ['example.mjs'], { cwd: work, env: nixEnv(), encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  assert.match(strataOk(['verify', join(work, 'app.tar')]).stdout, /^ok: \d+ layers verified/);
  assert.match(strataOk(['verify', `oci:${join(work, 'app-layout')}:1.0`]).stdout, /^ok: \d+ layers verified/);
  // The one-call form is the CLI's command with the same options: the same bytes.
  const cli = join(work, 'cli.tar');
  strataOk(['image', app, '--name', 'app', '--no-cache', '-o', cli]);
  assert.ok(readFileSync(cli).equals(readFileSync(join(work, 'app.tar'))), 'buildImage and strata image write the same archive');
});
