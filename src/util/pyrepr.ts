/**
 * Python's `repr()` of a str or a list of str, for messages and files that
 * must read exactly as stream_layered_image.py writes them.
 */

/**
 * What `str.isprintable()` rejects: the "Other" and "Separator" general
 * categories, except the ASCII space. Lone surrogates (Cs) include the
 * U+DC80..U+DCFF that surrogateescape makes of undecodable bytes.
 */
const NON_PRINTABLE = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Zs}]/u;

const ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };

export function pyRepr(value: string | string[]): string {
  if (Array.isArray(value)) return '[' + value.map(strRepr).join(', ') + ']';
  return strRepr(value);
}

function strRepr(s: string): string {
  // Python prefers single quotes, unless only they occur in the text.
  const q = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = q;
  // for..of walks code points; a lone surrogate comes out as one unit.
  for (const c of s) {
    const cp = c.codePointAt(0)!;
    if (c === q) out += '\\' + q;
    else if (c in ESCAPES) out += ESCAPES[c];
    else if (c !== ' ' && NON_PRINTABLE.test(c)) out += hexEscape(cp);
    else out += c;
  }
  return out + q;
}

function hexEscape(cp: number): string {
  const hex = cp.toString(16);
  if (cp <= 0xff) return '\\x' + hex.padStart(2, '0');
  if (cp <= 0xffff) return '\\u' + hex.padStart(4, '0');
  return '\\U' + hex.padStart(8, '0');
}

/** A list of str as pyRepr writes it, read back; undefined when `text` is not one. */
export function parseReprList(text: string): string[] | undefined {
  if (!text.startsWith('[') || !text.endsWith(']')) return undefined;
  const body = text.slice(1, -1);
  const item = /('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")(?:, |$)/y;
  const items: string[] = [];
  while (item.lastIndex < body.length) {
    const m = item.exec(body);
    if (!m) return undefined;
    items.push(m[1]!.slice(1, -1).replace(/\\(x[0-9a-f]{2}|u[0-9a-f]{4}|U[0-9a-f]{8}|.)/g, (_, e: string) =>
      e.length > 1 ? String.fromCodePoint(parseInt(e.slice(1), 16)) : (UNESCAPES[e] ?? e)));
  }
  return items;
}

const UNESCAPES: Record<string, string> = { t: '\t', n: '\n', r: '\r' };
