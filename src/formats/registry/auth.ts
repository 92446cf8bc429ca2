import type { Credentials } from './credentials.js';

/** A `WWW-Authenticate` challenge: its scheme and parameters. */
export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/**
 * Parse `WWW-Authenticate` (RFC 7235): `Bearer realm="...",service="...",scope="..."`
 * or `Basic realm="..."`. Only the first challenge is kept, as registries send one.
 */
export function parseChallenge(header: string | undefined): Challenge | undefined {
  const m = /^\s*([A-Za-z][\w-]*)\s*(.*)$/s.exec(header ?? '');
  if (!m) return undefined;
  const params: Record<string, string> = {};
  const param = /([\w-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*,?\s*/gy;
  const rest = m[2]!;
  for (let p = param.exec(rest); p; p = param.exec(rest)) {
    params[p[1]!.toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : p[3]!;
  }
  return { scheme: m[1]!.toLowerCase(), params };
}

export function basicAuthorization(c: Credentials): string {
  return `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`;
}

/** The token request of the Docker token protocol: `realm?service=...&scope=...&scope=...`. */
export function tokenUrl(challenge: Challenge, scopes: string[]): URL {
  const url = new URL(challenge.params.realm!);
  if (challenge.params.service) url.searchParams.set('service', challenge.params.service);
  for (const scope of scopes) url.searchParams.append('scope', scope);
  return url;
}

/** A token answer: `token` or `access_token`, valid `expires_in` seconds (60 when not said, as the protocol sets). */
export function parseToken(body: Buffer, now: number): { token: string; expires: number } | undefined {
  try {
    const json = JSON.parse(body.toString('utf8')) as { token?: unknown; access_token?: unknown; expires_in?: unknown };
    const token = typeof json.token === 'string' && json.token ? json.token : json.access_token;
    if (typeof token !== 'string' || token === '') return undefined;
    const lifetime = typeof json.expires_in === 'number' && json.expires_in > 0 ? json.expires_in : 60;
    // Renewed a little early, so a token never lapses mid-request.
    return { token, expires: now + Math.max(lifetime - 10, lifetime / 2) * 1000 };
  } catch {
    return undefined;
  }
}
