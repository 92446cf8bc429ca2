import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { walk } from '../../src/tar/tree-walk.js';

test('walk: names that are not UTF-8 come back as surrogate escapes, and paths under them are found; a name holding U+FFFD stays as it is', () => {
  const root = mkdtempSync(join(tmpdir(), 'strata-walk-'));
  try {
    writeFileSync(join(root, 'a'), 'a');
    // A directory whose name is the bytes n, 0xff, with files under it.
    const odd = Buffer.concat([Buffer.from(join(root, 'n')), Buffer.from([0xff])]);
    mkdirSync(odd);
    writeFileSync(Buffer.concat([odd, Buffer.from('/x')]), 'x');
    writeFileSync(Buffer.concat([odd, Buffer.from('/é')]), 'e');
    writeFileSync(join(root, 'r\ufffd'), 'r');
    const walked = [...walk(root)].map((e) => [e.path.slice(root.length), e.stat.isDirectory() ? 'dir' : e.stat.size] as const);
    assert.deepEqual(walked, [
      ['', 'dir'],
      ['/a', 1],
      ['/n\udcff', 'dir'],
      ['/n\udcff/x', 1],
      ['/n\udcff/é', 1],
      ['/r\ufffd', 1],
    ]);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
