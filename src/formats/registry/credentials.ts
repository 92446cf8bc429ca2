import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { StrataError } from '../../errors.js';

export interface Credentials {
  username: string;
  password: string;
}

/** `--creds USER:PASS` (the password may hold colons). */
export function parseCreds(text: string): Credentials {
  const i = text.indexOf(':');
  if (i <= 0) throw new StrataError('--creds: expected USER:PASS (the value is not shown)');
  return { username: text.slice(0, i), password: text.slice(i + 1) };
}

/** The auth files skopeo and podman read, in their order (containers-auth.json(5)), then Docker's. */
function authFiles(env: NodeJS.ProcessEnv = process.env): string[] {
  if (env.REGISTRY_AUTH_FILE) return [env.REGISTRY_AUTH_FILE];
  return [
    ...(env.XDG_RUNTIME_DIR ? [join(env.XDG_RUNTIME_DIR, 'containers', 'auth.json')] : []),
    join(env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'containers', 'auth.json'),
    join(homedir(), '.docker', 'config.json'),
  ];
}

/**
 * Credentials for `registry/repository` from the first auth file with an
 * entry for it: the most specific key wins (`host/ns/repo`, `host/ns`,
 * `host`, then Docker's `https://host/...` spelling). Entries hold base64
 * `user:pass` in `auth`; credential helpers are not run.
 */
export async function lookupCredentials(registry: string, repository: string, files: string[] = authFiles()): Promise<Credentials | undefined> {
  const parts = repository.split('/');
  const keys = [...parts.map((_, i) => `${registry}/${parts.slice(0, parts.length - i).join('/')}`), registry];
  for (const file of files) {
    const auths = await readAuths(file);
    if (!auths) continue;
    const byHost = new Map(Object.entries(auths).map(([k, v]) => [k.replace(/^https?:\/\//, '').replace(/\/(v1|v2)?\/?$/, ''), v] as const));
    for (const key of keys) {
      const entry = byHost.get(key);
      if (entry?.auth === undefined) continue;
      const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
      const i = decoded.indexOf(':');
      if (i <= 0) throw new StrataError(`${file}: the auth entry for ${key} is not base64 of user:password; log in again (podman login / docker login)`);
      return { username: decoded.slice(0, i), password: decoded.slice(i + 1) };
    }
  }
  return undefined;
}

async function readAuths(file: string): Promise<Record<string, { auth?: string }> | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return undefined; // A missing auth file is the usual case.
  }
  try {
    const json = JSON.parse(text) as { auths?: unknown };
    return json.auths && typeof json.auths === 'object' ? (json.auths as Record<string, { auth?: string }>) : undefined;
  } catch {
    // JSON.parse's message quotes the text, which holds secrets.
    throw new StrataError(`${file}: not valid JSON; fix the auth file or point REGISTRY_AUTH_FILE elsewhere`);
  }
}
