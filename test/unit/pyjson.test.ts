import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { hasPython, python } from '../helpers/python.js';
import { dumpPyJson, fromPy, parsePyJson, PyFloat, PyInt, type PyValue, StrataError, toPy } from '../../src/index.js';


const parse = (text: string): PyValue => parsePyJson(text, 'conf.json');
const roundTrip = (text: string, indent?: number): string => dumpPyJson(parse(text), indent);

describe('parsePyJson', () => {
  it('tells ints from floats and keeps big ints exact', () => {
    assert.deepEqual(parse('[1, 1.0, 1e2, -0, 12345678901234567890123]'), [
      new PyInt(1n),
      new PyFloat(1),
      new PyFloat(100),
      new PyInt(0n),
      new PyInt(12345678901234567890123n),
    ]);
  });

  it('reads NaN and the infinities', () => {
    const [nan, inf, negInf] = parse('[NaN, Infinity, -Infinity]') as PyFloat[];
    assert.ok(Number.isNaN(nan!.value));
    assert.equal(inf!.value, Infinity);
    assert.equal(negInf!.value, -Infinity);
    assert.equal((parse('1e400') as PyFloat).value, Infinity);
  });

  it('keeps key order, integer-like keys included', () => {
    assert.deepEqual([...(parse('{"b": 1, "2": 2, "1": 3, "a": 4}') as Map<string, PyValue>).keys()], ['b', '2', '1', 'a']);
  });

  it('lets a repeated key take the last value at its first position', () => {
    assert.equal(roundTrip('{"a": 1, "b": 2, "a": 3}'), '{"a": 3, "b": 2}');
  });

  it('reads escapes, surrogate pairs and lone surrogates', () => {
    assert.equal(parse('"\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\u00E9"'), '"\\/\b\f\n\r\téé');
    assert.equal(parse('"\\ud83d\\ude00"'), '\u{1f600}');
    assert.equal(parse('"\\ud800x\\udc80"'), '\ud800x\udc80');
  });

  it('allows JSON whitespace around the value', () => {
    assert.deepEqual(parse(' \t\r\n[ 1 ,\n2 ] \n'), [new PyInt(1n), new PyInt(2n)]);
  });

  const bad: Array<[string, string]> = [
    ['{"a": 1,\n  "b": 2\n  "c": 3}', "conf.json: invalid JSON at line 3 column 3: expected ',' or '}'"],
    ['[1, 2', "conf.json: invalid JSON at line 1 column 6: expected ',' or ']'"],
    ['[1,]', 'conf.json: invalid JSON at line 1 column 4: expected a value'],
    ['{"a" 1}', "conf.json: invalid JSON at line 1 column 6: expected ':'"],
    ['{"a": 1,}', 'conf.json: invalid JSON at line 1 column 9: expected a property name in double quotes'],
    ['"abc', 'conf.json: invalid JSON at line 1 column 1: unterminated string'],
    ['"a\tb"', 'conf.json: invalid JSON at line 1 column 3: control character in string (escape it)'],
    ['"\\x"', 'conf.json: invalid JSON at line 1 column 2: invalid \\escape'],
    ['"\\u12G4"', 'conf.json: invalid JSON at line 1 column 3: invalid \\uXXXX escape'],
    ['1 2', 'conf.json: invalid JSON at line 1 column 3: extra data after the value'],
    ['01', 'conf.json: invalid JSON at line 1 column 2: extra data after the value'],
    ['"é" x', 'conf.json: invalid JSON at line 1 column 5: extra data after the value'],
    ['\ufeff{}', 'conf.json: invalid JSON at line 1 column 1: starts with a byte order mark (save it without one)'],
    ['', 'conf.json: invalid JSON at line 1 column 1: expected a value'],
    ['nan', 'conf.json: invalid JSON at line 1 column 1: expected a value'],
    ['-NaN', 'conf.json: invalid JSON at line 1 column 1: expected a value'],
    ['1'.repeat(4301), 'conf.json: invalid JSON at line 1 column 1: integer has more than 4300 digits'],
    ['['.repeat(991) + ']'.repeat(991), 'conf.json: invalid JSON at line 1 column 991: more than 990 nested arrays and objects'],
  ];
  for (const [text, message] of bad) {
    it(`rejects ${JSON.stringify(text.slice(0, 20))}`, () => {
      assert.throws(() => parse(text), (e: unknown) => e instanceof StrataError && e.message === message);
    });
  }

  it('accepts 990 levels of nesting and 4300-digit ints', () => {
    assert.doesNotThrow(() => parse('['.repeat(990) + ']'.repeat(990)));
    assert.doesNotThrow(() => parse('-' + '9'.repeat(4300)));
  });
});

describe('dumpPyJson', () => {
  it('writes Python separators, with and without indent', () => {
    const v = toPy({ a: [1, { b: null }], c: 'x', d: {}, e: [] });
    assert.equal(dumpPyJson(v), '{"a": [1, {"b": null}], "c": "x", "d": {}, "e": []}');
    assert.equal(
      dumpPyJson(v, 2),
      '{\n  "a": [\n    1,\n    {\n      "b": null\n    }\n  ],\n  "c": "x",\n  "d": {},\n  "e": []\n}',
    );
    assert.equal(dumpPyJson(toPy([1, [2]]), 0), '[\n1,\n[\n2\n]\n]');
  });

  it('escapes everything outside printable ASCII', () => {
    assert.equal(
      dumpPyJson('"\\/\b\f\n\r\t\x00\x1f\x7f\x80é\u2028\u{1f600}\ud800 ~'),
      '"\\"\\\\/\\b\\f\\n\\r\\t\\u0000\\u001f\\u007f\\u0080\\u00e9\\u2028\\ud83d\\ude00\\ud800 ~"',
    );
  });

  it('writes floats as Python repr does', () => {
    const cases: Array<[number, string]> = [
      [0, '0.0'],
      [-0, '-0.0'],
      [1, '1.0'],
      [0.1, '0.1'],
      [0.1 + 0.2, '0.30000000000000004'],
      [1e15, '1000000000000000.0'],
      [1e16, '1e+16'],
      [1.5e16, '1.5e+16'],
      [0.0001, '0.0001'],
      [1e-5, '1e-05'],
      [1.25e-7, '1.25e-07'],
      [123456789.123, '123456789.123'],
      [5e-324, '5e-324'],
      [1.7976931348623157e308, '1.7976931348623157e+308'],
      [1.5e300, '1.5e+300'],
      [-2.5, '-2.5'],
      [NaN, 'NaN'],
      [Infinity, 'Infinity'],
      [-Infinity, '-Infinity'],
    ];
    for (const [x, repr] of cases) assert.equal(dumpPyJson(new PyFloat(x)), repr, String(x));
  });

  it('writes ints in full', () => {
    assert.equal(dumpPyJson(new PyInt(-(10n ** 30n))), '-1' + '0'.repeat(30));
  });
});

describe('toPy and fromPy', () => {
  it('maps integral numbers to ints and objects to Maps', () => {
    assert.deepEqual(toPy({ n: 3, f: 2.5, big: 10n, list: [true, null, 'x'] }), new Map<string, PyValue>([
      ['n', new PyInt(3n)],
      ['f', new PyFloat(2.5)],
      ['big', new PyInt(10n)],
      ['list', [true, null, 'x']],
    ]));
  });

  it('maps back to plain data, keeping unsafe ints as bigints', () => {
    assert.deepEqual(fromPy(parse('{"a": [1, 2.5, 9007199254740993], "b": {"c": null}}')), {
      a: [1, 2.5, 9007199254740993n],
      b: { c: null },
    });
  });
});

describe('against python3', { skip: !hasPython && 'python3 is not on PATH' }, () => {
  const documents: Array<[string, number | null]> = [];
  const texts = [
    '{"a": 1, "b": [1, 2.5, "x"], "c": {}, "d": [], "e": [[], {}, [{}]]}',
    '{"z": 1, "10": 2, "2": 3, "a": {"b": {"c": [null, true, false]}}}',
    '{"a": 1, "a": 2, "b": 3, "a": 4}',
    '"\\u0000\\u001f\\u007f\\u0080\\u00ff\\u0100\\u2028\\u2029\\ufeff\\uffff"',
    '"\\ud83d\\ude00 \\ud800 \\udc80 \\udbff\\udfff \\ud800\\u0041"',
    '"tab\\tnl\\ncr\\rbs\\bff\\f quote\\" backslash\\\\ slash\\/"',
    '"héllo wörld 日本語 🎉"',
    '[0.1, 0.2, 0.30000000000000004, 1e16, 1e15, 9999999999999998.0, 1e-5, 0.0001, 0.00012345]',
    '[123456789.123, 5e-324, 2.2250738585072014e-308, 1.7976931348623157e308, 1e400, -1e400, -0.0, 0.0]',
    '[1E2, 1e-2, 1.5E+300, 12345678901234567890.0, 100, -0, 123456789012345678901234567890]',
    '[NaN, Infinity, -Infinity]',
    '  {"nested": [[[[1]]], {"x": {"y": {}}}]}  ',
    '[]',
    '{}',
    '"plain"',
    '-12',
    'null',
    // Rejected by both.
    '[1,]',
    '{"a":1,}',
    '01',
    '"\\x"',
    '"a\u0001b"',
    '1 2',
    '\ufeff[]',
    '[1e]',
    '[.5]',
    '[-]',
    '[nan]',
  ];
  for (const text of texts) for (const indent of [null, 0, 2, 4]) documents.push([text, indent]);
  documents.push(['9'.repeat(4301), null], ['9'.repeat(4300), null]);

  // Random doubles from random bit patterns (a fixed seed, so failures repeat).
  const floats: string[] = [];
  let seed = 0x2545f491;
  const next = (): number => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return seed >>> 0;
  };
  const view = new DataView(new ArrayBuffer(8));
  for (let i = 0; i < 3000; i++) {
    view.setUint32(0, next());
    view.setUint32(4, next());
    floats.push(String(view.getFloat64(0)));
  }
  for (let e = -330; e <= 310; e++) floats.push(`1e${e}`, `1.5e${e}`, `9.999999999999999e${e}`);

  let answer: { documents: Array<string | null>; floats: string[] };
  before(() => {
    answer = python(
      `
import json, sys
cases = json.load(sys.stdin)
docs = []
for text, indent in cases["documents"]:
    try:
        docs.append(json.dumps(json.loads(text), indent=indent))
    except (ValueError, RecursionError):
        docs.append(None)
print(json.dumps({"documents": docs, "floats": [json.dumps(float(s)) for s in cases["floats"]]}))
`,
      { documents, floats },
    ) as typeof answer;
  });

  it('parses and dumps documents identically', () => {
    documents.forEach(([text, indent], i) => {
      let ours: string | null;
      try {
        ours = roundTrip(text, indent ?? undefined);
      } catch (e) {
        if (!(e instanceof StrataError)) throw e;
        ours = null;
      }
      assert.equal(ours, answer.documents[i], `${JSON.stringify(text.slice(0, 60))} indent=${indent}`);
    });
  });

  it('writes floats identically', () => {
    floats.forEach((s, i) => assert.equal(dumpPyJson(new PyFloat(Number(s))), answer.floats[i], s));
  });
});
