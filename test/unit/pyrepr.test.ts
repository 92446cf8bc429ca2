import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { hasPython, python } from '../helpers/python.js';
import { pyRepr } from '../../src/index.js';


describe('pyRepr', () => {
  it('picks quotes as Python does', () => {
    assert.equal(pyRepr('abc'), "'abc'");
    assert.equal(pyRepr("it's"), `"it's"`);
    assert.equal(pyRepr('say "hi"'), `'say "hi"'`);
    assert.equal(pyRepr(`it's "x"`), `'it\\'s "x"'`);
    assert.equal(pyRepr(''), "''");
  });

  it('escapes backslash, whitespace controls and other control characters', () => {
    assert.equal(pyRepr('a\\b\tc\nd\re'), "'a\\\\b\\tc\\nd\\re'");
    assert.equal(pyRepr('\x00\x1b\x7f'), "'\\x00\\x1b\\x7f'");
  });

  it('keeps printable non-ASCII and escapes the rest by size', () => {
    assert.equal(pyRepr('é日本🎉'), "'é日本🎉'");
    assert.equal(pyRepr('\x85\xa0\xad'), "'\\x85\\xa0\\xad'");
    assert.equal(pyRepr('\u200b\u2028\u3000\ue000\u0378'), "'\\u200b\\u2028\\u3000\\ue000\\u0378'");
    assert.equal(pyRepr('\u{e0001}\u{10ffff}'), "'\\U000e0001\\U0010ffff'");
  });

  it('escapes lone surrogates, as from surrogateescape', () => {
    assert.equal(pyRepr('caf\udcc3\udca9'), "'caf\\udcc3\\udca9'");
    assert.equal(pyRepr('\ud800x'), "'\\ud800x'");
  });

  it('writes lists of str', () => {
    assert.equal(pyRepr(['a', "it's", 'x\ny']), `['a', "it's", 'x\\ny']`);
    assert.equal(pyRepr([]), '[]');
  });
});

describe('against python3', { skip: !hasPython && 'python3 is not on PATH' }, () => {
  const strings = [
    'plain',
    "it's",
    'say "hi"',
    `both ' and "`,
    'back\\slash',
    '\t\n\r\x0b\x0c\x00\x1f\x7f\x80\x9f\xa0\xad\xff',
    'é ñ ü ß 日本語 한국어 עברית العربية',
    '\u200b\u200e\u2028\u2029\u202f\u205f\u3000\ufeff\ufffe\uffff',
    '\ue000\uf8ff\u{f0000}\u{10fffd}',
    '\u{1f600}\u{1f469}\u200d\u{1f4bb}',
    '\u{e0001}\u{e007f}\u{1d173}',
    '\ud800\udbff\udc00\udc80\udcff\udfff',
    '/nix/store/abc-caf\udcc3\udca9',
    '',
  ];
  const lists = [[], ['a'], ['a', "b'c", 'd"e', `f'g"h`], ['\udc80', '\t']];
  // Every code point up to U+2FFFF, one character at a time.
  const sweepEnd = 0x30000;

  let answer: { strings: string[]; lists: string[]; sweep: Array<[string, string]> };
  before(() => {
    answer = python(
      `
import json, sys, unicodedata
cases = json.load(sys.stdin)
print(json.dumps({
    "strings": [repr(s) for s in cases["strings"]],
    "lists": [repr(l) for l in cases["lists"]],
    "sweep": [[repr(chr(c)), unicodedata.category(chr(c))] for c in range(cases["sweepEnd"])],
}))
`,
      { strings, lists, sweepEnd },
    ) as typeof answer;
  });

  it('writes strs identically', () => {
    strings.forEach((s, i) => assert.equal(pyRepr(s), answer.strings[i]));
  });

  it('writes lists identically', () => {
    lists.forEach((l, i) => assert.equal(pyRepr(l), answer.lists[i]));
  });

  it('agrees on every character Python knows', () => {
    // Characters that Python's (older) Unicode database leaves unassigned may
    // be assigned, so printable, in Node's newer one.
    const differing: string[] = [];
    answer.sweep.forEach(([repr, category], c) => {
      if (category !== 'Cn' && pyRepr(String.fromCodePoint(c)) !== repr) differing.push(c.toString(16));
    });
    assert.deepEqual(differing, []);
  });
});
