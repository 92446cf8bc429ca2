/** NAR hashes as the store and graph files give them, in one form. */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { loadClosure } from '../../src/closure/stores/table.js';
import { normaliseNarHash } from '../../src/closure/nar-hash.js';
import { buildFixture, graphFiles, nixStore } from '../helpers/store.js';

test('every form Nix writes gives the same sha256:<hex>', () => {
  const app = buildFixture('app');
  const nix32 = nixStore(['--query', '--hash', app]).trim();
  const hex = `sha256:${nixStore(['--dump-db', app]).split('\n')[1]}`;
  assert.match(hex, /^sha256:[0-9a-f]{64}$/);
  assert.equal(normaliseNarHash(nix32), hex);
  assert.equal(normaliseNarHash(hex.slice(7)), hex);
  assert.equal(normaliseNarHash(`sha256-${Buffer.from(hex.slice(7), 'hex').toString('base64')}`), hex);
  assert.equal(normaliseNarHash('sha256:e'.padEnd(59, '0')), undefined);
  assert.equal(normaliseNarHash('md5:abc'), undefined);
});

test('the closure carries NAR hashes from the store and from a structured-attrs graph file, none from plain registration', async () => {
  const app = buildFixture('app');
  const fromStore = await loadClosure({ roots: [app] });
  const fromAttrs = await loadClosure({ graph: graphFiles('app').attrsJson });
  const fromRegistration = await loadClosure({ graph: graphFiles('app').registration });
  assert.ok(fromStore.paths.every((p) => /^sha256:[0-9a-f]{64}$/.test(p.narHash ?? '')));
  assert.deepEqual(fromAttrs.paths, fromStore.paths);
  assert.ok(fromRegistration.paths.every((p) => p.narHash === undefined));
  assert.equal(fromStore.paths.find((p) => p.path === app)?.narHash, normaliseNarHash(nixStore(['--query', '--hash', app]).trim()));
});
