/**
 * JSON as Python's `json` module reads (`json.loads`) and writes
 * (`json.dumps` with its defaults), so that documents we emit are
 * byte-identical to those of nixpkgs' stream_layered_image.py.
 */
import { StrataError } from '../errors.js';

/** A Python int: arbitrary size, and distinct from a float of equal value (`1` vs `1.0`). */
export class PyInt {
  constructor(readonly value: bigint) {}
}

/** A Python float. */
export class PyFloat {
  constructor(readonly value: number) {}
}

/** A Python dict with str keys; a Map keeps insertion order even for integer-like keys. */
export type PyObject = Map<string, PyValue>;

export type PyValue = null | boolean | string | PyInt | PyFloat | PyValue[] | PyObject;

/** Python refuses to convert ints longer than this (sys.get_int_max_str_digits()). */
const MAX_INT_DIGITS = 4300;

/**
 * Python's decoder recurses per nesting level and fails near its recursion
 * limit (1000, less the caller's frames); refuse deeper documents too, which
 * also keeps us clear of JS's own stack limit.
 */
const MAX_DEPTH = 990;

const NUMBER = /-?(?:0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?/y;
const HEX4 = /[0-9a-fA-F]{4}/y;

const SIMPLE_ESCAPES: Record<string, string> = {
  '"': '"',
  '\\': '\\',
  '/': '/',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
};

/** Parse `text` like Python's `json.loads`; errors name `source` and the position. */
export function parsePyJson(text: string, source: string): PyValue {
  let pos = 0;

  const fail = (at: number, what: string): never => {
    const lineStart = text.lastIndexOf('\n', at - 1) + 1;
    const line = countOf(text, '\n', at) + 1;
    // Python counts columns in code points, not UTF-16 units.
    const column = [...text.slice(lineStart, at)].length + 1;
    throw new StrataError(`${source}: invalid JSON at line ${line} column ${column}: ${what}`);
  };

  const skipWhitespace = (): void => {
    // Python's JSON whitespace is exactly these four characters.
    while (pos < text.length && ' \t\n\r'.includes(text[pos]!)) pos++;
  };

  const parseString = (): string => {
    const start = pos; // at the opening quote
    pos++;
    let out = '';
    let chunk = pos;
    for (;;) {
      if (pos >= text.length) fail(start, 'unterminated string');
      const c = text.charCodeAt(pos);
      if (c === 0x22) break;
      if (c < 0x20) fail(pos, 'control character in string (escape it)');
      if (c !== 0x5c) {
        pos++;
        continue;
      }
      out += text.slice(chunk, pos);
      const e = text[pos + 1];
      if (e === 'u') {
        HEX4.lastIndex = pos + 2;
        if (!HEX4.test(text)) fail(pos + 1, 'invalid \\uXXXX escape');
        // Surrogate escapes stay separate code units; a high one followed by a
        // low one reads as the pair, as Python combines them.
        out += String.fromCharCode(parseInt(text.slice(pos + 2, pos + 6), 16));
        pos += 6;
      } else if (e !== undefined && e in SIMPLE_ESCAPES) {
        out += SIMPLE_ESCAPES[e];
        pos += 2;
      } else {
        fail(pos, 'invalid \\escape');
      }
      chunk = pos;
    }
    out += text.slice(chunk, pos);
    pos++;
    return out;
  };

  // `depth` counts the arrays and objects around the value.
  const parseValue = (depth: number): PyValue => {
    const c = text[pos];
    if (c === '"') return parseString();
    if (c === '{') return parseObject(depth);
    if (c === '[') return parseArray(depth);
    for (const [word, value] of CONSTANTS) {
      if (text.startsWith(word, pos)) {
        pos += word.length;
        return value;
      }
    }
    NUMBER.lastIndex = pos;
    const m = NUMBER.exec(text);
    if (m === null) return fail(pos, 'expected a value');
    pos = NUMBER.lastIndex;
    if (m[1] !== undefined || m[2] !== undefined) return new PyFloat(Number(m[0]));
    const digits = m[0].length - (m[0].startsWith('-') ? 1 : 0);
    if (digits > MAX_INT_DIGITS) fail(m.index, `integer has more than ${MAX_INT_DIGITS} digits`);
    return new PyInt(BigInt(m[0]));
  };

  const enter = (depth: number): void => {
    if (depth >= MAX_DEPTH) fail(pos, `more than ${MAX_DEPTH} nested arrays and objects`);
    pos++;
  };

  const parseArray = (depth: number): PyValue[] => {
    enter(depth);
    const items: PyValue[] = [];
    skipWhitespace();
    if (text[pos] === ']') {
      pos++;
      return items;
    }
    for (;;) {
      skipWhitespace();
      items.push(parseValue(depth + 1));
      skipWhitespace();
      if (text[pos] === ']') break;
      if (text[pos] !== ',') fail(pos, "expected ',' or ']'");
      pos++;
    }
    pos++;
    return items;
  };

  const parseObject = (depth: number): PyObject => {
    enter(depth);
    const obj: PyObject = new Map();
    skipWhitespace();
    if (text[pos] === '}') {
      pos++;
      return obj;
    }
    for (;;) {
      skipWhitespace();
      if (text[pos] !== '"') fail(pos, 'expected a property name in double quotes');
      const key = parseString();
      skipWhitespace();
      if (text[pos] !== ':') fail(pos, "expected ':'");
      pos++;
      skipWhitespace();
      // A repeated key keeps its first position and takes the last value, as a dict does.
      obj.set(key, parseValue(depth + 1));
      skipWhitespace();
      if (text[pos] === '}') break;
      if (text[pos] !== ',') fail(pos, "expected ',' or '}'");
      pos++;
    }
    pos++;
    return obj;
  };

  if (text.startsWith('\ufeff')) fail(0, 'starts with a byte order mark (save it without one)');
  skipWhitespace();
  const value = parseValue(0);
  skipWhitespace();
  if (pos < text.length) fail(pos, 'extra data after the value');
  return value;
}

const CONSTANTS: ReadonlyArray<readonly [string, PyValue]> = [
  ['null', null],
  ['true', true],
  ['false', false],
  ['NaN', new PyFloat(NaN)],
  ['Infinity', new PyFloat(Infinity)],
  ['-Infinity', new PyFloat(-Infinity)],
];

function countOf(text: string, ch: string, end: number): number {
  let n = 0;
  for (let i = text.indexOf(ch); i !== -1 && i < end; i = text.indexOf(ch, i + 1)) n++;
  return n;
}

/**
 * `json.dumps(value, indent=indent)` with Python's other defaults
 * (ensure_ascii, allow_nan, no key sorting).
 */
export function dumpPyJson(value: PyValue, indent?: number): string {
  // One string grown in place (V8 joins the pieces once), no array per
  // container: a conf of 200 000 layers dumps in linear time and memory.
  const breaks: string[] = [];
  const lineBreak = (level: number): string => (breaks[level] ??= indent === undefined ? '' : '\n' + ' '.repeat(Math.max(0, indent) * level));
  // With an indent Python puts each item on its own line and drops the space after ','.
  const separator = indent === undefined ? ', ' : ',';
  let out = '';
  const write = (v: PyValue, level: number): void => {
    if (v === null) out += 'null';
    else if (v === true) out += 'true';
    else if (v === false) out += 'false';
    else if (typeof v === 'string') out += quote(v);
    else if (v instanceof PyInt) out += v.value.toString();
    else if (v instanceof PyFloat) out += floatRepr(v.value);
    else if (Array.isArray(v)) {
      if (v.length === 0) {
        out += '[]';
        return;
      }
      out += '[';
      for (let i = 0; i < v.length; i++) {
        out += i === 0 ? lineBreak(level + 1) : separator + lineBreak(level + 1);
        write(v[i]!, level + 1);
      }
      out += lineBreak(level) + ']';
    } else {
      if (v.size === 0) {
        out += '{}';
        return;
      }
      out += '{';
      let first = true;
      for (const [key, item] of v) {
        out += (first ? '' : separator) + lineBreak(level + 1) + quote(key) + ': ';
        first = false;
        write(item, level + 1);
      }
      out += lineBreak(level) + '}';
    }
  };
  write(value, 0);
  return out;
}

const SHORT_ESCAPES: Record<string, string> = {
  '"': '\\"',
  '\\': '\\\\',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
  '\b': '\\b',
  '\f': '\\f',
};

/** A JSON string literal with everything outside printable ASCII escaped (ensure_ascii). */
function quote(s: string): string {
  // Without the `u` flag the regex sees UTF-16 units, so astral characters
  // come out as surrogate pairs, as Python writes them.
  const body = s.replace(
    /[^\x20\x21\x23-\x5b\x5d-\x7e]/g,
    (c) => SHORT_ESCAPES[c] ?? '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'),
  );
  return '"' + body + '"';
}

/** Python's `repr(float)`, as `json.dumps` writes floats. */
function floatRepr(x: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (x === Infinity) return 'Infinity';
  if (x === -Infinity) return '-Infinity';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  // JS and Python both choose the shortest digits that round-trip; only the layout differs.
  const [mantissa = '', exponent = '0'] = String(Math.abs(x)).split('e');
  const [whole = '', fraction = ''] = mantissa.split('.');
  const all = whole + fraction;
  const leadingZeros = all.length - all.replace(/^0+/, '').length;
  const digits = all.slice(leadingZeros).replace(/0+$/, '');
  // value = 0.<digits> * 10^point
  const point = whole.length + Number(exponent) - leadingZeros;
  const sign = x < 0 ? '-' : '';
  if (point > -4 && point <= 16) {
    if (point <= 0) return `${sign}0.${'0'.repeat(-point)}${digits}`;
    if (point >= digits.length) return `${sign}${digits}${'0'.repeat(point - digits.length)}.0`;
    return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
  }
  const e = point - 1;
  const head = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
  return `${sign}${head}e${e < 0 ? '-' : '+'}${String(Math.abs(e)).padStart(2, '0')}`;
}

/** Plain JS data as Python values: integral numbers become ints, objects dicts. */
export function toPy(v: unknown): PyValue {
  if (v === null || typeof v === 'boolean' || typeof v === 'string') return v;
  if (v instanceof PyInt || v instanceof PyFloat) return v;
  if (typeof v === 'bigint') return new PyInt(v);
  if (typeof v === 'number') return Number.isInteger(v) ? new PyInt(BigInt(v)) : new PyFloat(v);
  if (Array.isArray(v)) return v.map(toPy);
  if (v instanceof Map) return new Map([...v].map(([k, item]) => [String(k), toPy(item)]));
  if (typeof v === 'object') return new Map(Object.entries(v).map(([k, item]) => [k, toPy(item)]));
  throw new TypeError(`toPy: cannot represent ${typeof v} in JSON`);
}

/** Python values as plain JS data: ints that fit a double exactly become numbers, else bigints. */
export function fromPy(v: PyValue): unknown {
  if (v instanceof PyInt) {
    const n = Number(v.value);
    return Number.isSafeInteger(n) ? n : v.value;
  }
  if (v instanceof PyFloat) return v.value;
  if (Array.isArray(v)) return v.map(fromPy);
  if (v instanceof Map) return Object.fromEntries([...v].map(([k, item]) => [k, fromPy(item)]));
  return v;
}
