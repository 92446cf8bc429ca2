/**
 * nix/demo.nix built by real Nix inside its build sandbox, as a default
 * Nix builds: no host /bin, only the store paths the derivations name.
 * sandbox-fallback is off, so a machine whose sandbox cannot start fails
 * here instead of quietly building without it.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';

import { REPO_ROOT, runTool } from './helpers/store.js';

const SANDBOXED = { ...process.env, NIX_CONFIG: 'build-users-group =\nsandbox = true\nsandbox-fallback = false\nsubstituters =' };
const DEMO = join(REPO_ROOT, 'nix', 'demo.nix');

test('nix/demo.nix builds in the Nix sandbox, and its hello runs', () => {
  const app = runTool('nix-build', [DEMO, '--no-out-link'], { env: SANDBOXED }).stdout.trim();
  // A path built earlier without the sandbox would be reused as it is: --check
  // builds it again, in the sandbox, and compares.
  runTool('nix-build', [DEMO, '--no-out-link', '--check'], { env: SANDBOXED });
  assert.match(app, /^\/nix\/store\/[0-9a-z]{32}-demo-app-1\.0$/);
  assert.equal(runTool(join(app, 'bin', 'hello'), []).stdout, 'hello from a strata image\n');
});
