/**
 * File names as Python sees them: bytes decoded as UTF-8, each byte of an
 * invalid sequence kept as a lone surrogate U+DC80..U+DCFF. Names in this
 * form sort, measure and encode into tar headers exactly as Python's tarfile
 * and pathlib handle them, and convert back to the original bytes losslessly.
 */
export function decodeName(bytes: Buffer): string {
  let ascii = true;
  for (let i = 0; i < bytes.length; i++) if (bytes[i]! >= 0x80) { ascii = false; break; }
  if (ascii) return bytes.toString('latin1');
  let out = '';
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i]!;
    if (b < 0x80) { out += String.fromCharCode(b); i++; continue; }
    const len = validSequenceLength(bytes, i);
    if (len > 0) { out += bytes.toString('utf8', i, i + len); i += len; } else { out += String.fromCharCode(0xdc00 + b); i++; }
  }
  return out;
}

/** The bytes of a name in the form `decodeName` gives. */
export function encodeName(name: string): Buffer {
  if (!hasLoneSurrogate(name)) return Buffer.from(name, 'utf8');
  const parts: Buffer[] = [];
  let run = '';
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c >= 0xdc80 && c <= 0xdcff && !isPairTail(name, i)) {
      parts.push(Buffer.from(run, 'utf8'), Buffer.from([c - 0xdc00]));
      run = '';
    } else run += name[i];
  }
  parts.push(Buffer.from(run, 'utf8'));
  return Buffer.concat(parts);
}

/** A name as fs calls take it: the string itself unless it holds bytes UTF-8 cannot spell. */
export function fsName(name: string): string | Buffer {
  return hasLoneSurrogate(name) ? encodeName(name) : name;
}

/** True when encoding as strict UTF-8 would fail (Python's test for pax hdrcharset=BINARY). */
export function hasLoneSurrogate(s: string): boolean {
  return /\p{Cs}/u.test(s);
}

/** True when every character is ASCII (Python's `str.encode('ascii')` succeeds). */
export function isAscii(s: string): boolean {
  return /^[\x00-\x7f]*$/.test(s);
}

/** Python's `s.encode('ascii', 'replace')`: one '?' per non-ASCII code point. */
export function asciiReplace(s: string): string {
  return s.replace(/[^\x00-\x7f]/gu, '?');
}

function isPairTail(s: string, i: number): boolean {
  const prev = i > 0 ? s.charCodeAt(i - 1) : 0;
  return prev >= 0xd800 && prev <= 0xdbff;
}

/** Length of the well-formed UTF-8 sequence at `i` (Unicode table 3-7), or 0. */
function validSequenceLength(b: Buffer, i: number): number {
  const c0 = b[i]!;
  const cont = (k: number, lo = 0x80, hi = 0xbf): boolean => i + k < b.length && b[i + k]! >= lo && b[i + k]! <= hi;
  if (c0 >= 0xc2 && c0 <= 0xdf) return cont(1) ? 2 : 0;
  if (c0 >= 0xe0 && c0 <= 0xef) {
    const [lo, hi] = c0 === 0xe0 ? [0xa0, 0xbf] : c0 === 0xed ? [0x80, 0x9f] : [0x80, 0xbf];
    return cont(1, lo, hi) && cont(2) ? 3 : 0;
  }
  if (c0 >= 0xf0 && c0 <= 0xf4) {
    const [lo, hi] = c0 === 0xf0 ? [0x90, 0xbf] : c0 === 0xf4 ? [0x80, 0x8f] : [0x80, 0xbf];
    return cont(1, lo, hi) && cont(2) && cont(3) ? 4 : 0;
  }
  return 0;
}
