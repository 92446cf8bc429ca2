import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRegistration, StrataError } from '../../src/index.js';

// Nix's validity registration text (exportReferencesGraph, Guix
// #:references-graphs, nix-store --dump-db), parsed as a function.

const S = '/nix/store/';
const app = `${S}aaaa-app`;
const lib = `${S}bbbb-lib`;

test('without hashes: path, empty deriver, count, references; a self reference kept', () => {
  const text = `${app}\n\n2\n${app}\n${lib}\n${lib}\n\n0\n`;
  assert.deepEqual(parseRegistration(text, 'graph'), [
    { path: app, references: [app, lib] },
    { path: lib, references: [] },
  ]);
});

test('with nar hash and size (nix-store --dump-db), and a deriver', () => {
  const text = `${app}\nsha256:0abc\n4096\n${S}cccc-app.drv\n1\n${lib}\n${lib}\nsha256:0def\n512\n\n0\n`;
  assert.deepEqual(parseRegistration(text, 'db'), [
    { path: app, narHash: 'sha256:0abc', narSize: 4096, references: [lib] },
    { path: lib, narHash: 'sha256:0def', narSize: 512, references: [] },
  ]);
});

test('an empty text is an empty graph', () => {
  assert.deepEqual(parseRegistration('', 'graph'), []);
});

const refused = (text: string, what: string): void => {
  assert.throws(() => parseRegistration(text, 'g.txt'), (e: unknown) => {
    assert.ok(e instanceof StrataError);
    assert.equal(e.message, `g.txt: ${what}; expected a reference graph in Nix registration format (path, [nar hash, nar size,] deriver, count, references)`);
    return true;
  }, JSON.stringify(text));
};

test('a text that ends early: one line naming the file, the missing line and what was wanted', () => {
  refused(`${app}\n\n2\n${lib}\n`, 'line 5: unexpected end of file, wanted a reference');
  refused(`${app}\n`, 'line 2: unexpected end of file, wanted a deriver line');
});

// parseRegistration names the line after the bad one (it counts after reading).
test('a bad line: one line naming the file, that line and what was wanted', () => {
  refused('aaaa-app\n\n0\n', "line 1: 'aaaa-app' is not an absolute store path");
  refused(`${app}\n\nmany\n`, "line 3: 'many' is not a reference count");
  refused(`${app}\n\n1\nlib\n`, "line 4: 'lib' is not an absolute store path");
  refused(`${app}\nsha256:0abc\nbig\n`, "line 3: 'big' is not a nar size");
});
