// NAR hashes as Nix writes them, in one form: `sha256:<hex>`.

const NIX32 = '0123456789abcdfghijklmnpqrsvwxyz';

/** Nix's base-32 (least significant digit last, 5 bits each) as bytes; undefined if not base-32. */
function fromNix32(text: string, bytes: number): Buffer | undefined {
  const out = Buffer.alloc(bytes);
  for (let n = 0; n < text.length; n++) {
    const digit = NIX32.indexOf(text[text.length - 1 - n]!);
    if (digit < 0) return undefined;
    const bit = n * 5;
    const i = bit >> 3;
    const j = bit & 7;
    out[i]! |= (digit << j) & 0xff;
    if (i + 1 < bytes) out[i + 1]! |= digit >> (8 - j);
    else if (digit >> (8 - j) !== 0) return undefined;
  }
  return out;
}

/**
 * A sha256 NAR hash in any of the forms Nix writes (`nix-store --dump-db`'s
 * bare hex, `sha256:` with hex or base-32 as in exportReferencesGraph's
 * JSON, SRI `sha256-<base64>`) as `sha256:<hex>`; undefined for anything else.
 */
export function normaliseNarHash(text: string): string | undefined {
  let bytes: Buffer | undefined;
  if (/^(sha256:)?[0-9a-f]{64}$/.test(text)) return `sha256:${text.slice(-64)}`;
  const nix32 = /^sha256:([0-9a-df-np-sv-z]{52})$/.exec(text);
  if (nix32) bytes = fromNix32(nix32[1]!, 32);
  const sri = /^sha256-([A-Za-z0-9+/]{43}=)$/.exec(text);
  if (sri) bytes = Buffer.from(sri[1]!, 'base64');
  return bytes?.length === 32 ? `sha256:${bytes.toString('hex')}` : undefined;
}
