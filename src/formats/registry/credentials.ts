import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ExitCode, StrataError } from '../../errors.js';

export interface Credentials {
  username: string;
  password: string;
}

/** Where credentials for a registry come from, as skopeo takes them. */
export interface CredentialOptions {
  /** USER:PASS (the password may hold colons). */
  creds?: string;
  /** An auth file read in place of the primary one (skopeo's --authfile). */
  authfile?: string;
  /** A bearer token sent as it is (skopeo's --registry-token). */
  registryToken?: string;
}

/** What a client authenticates with: a user and password, or a token; neither for anonymous access. */
interface Authentication {
  credentials?: Credentials;
  token?: string;
}

/**
 * `--registry-token`, else `--creds`, else the auth files (see
 * lookupCredentials); at most one of the flags.
 */
export async function resolveAuthentication(registry: string, repository: string, options: CredentialOptions = {}): Promise<Authentication> {
  const given = (['creds', 'registryToken'] as const).filter((k) => options[k] !== undefined);
  if (given.length > 1) throw new StrataError('give --creds or --registry-token, not both');
  if (options.registryToken !== undefined) {
    if (options.registryToken === '') throw new StrataError('--registry-token: empty; give the token (the value is not shown)');
    return { token: options.registryToken };
  }
  if (options.creds !== undefined) return { credentials: parseCreds(options.creds) };
  return { credentials: await lookupCredentials(registry, repository, authFiles(options.authfile)) };
}

function parseCreds(text: string): Credentials {
  const i = text.indexOf(':');
  if (i <= 0) throw new StrataError('--creds: expected USER:PASS (the value is not shown)');
  return { username: text.slice(0, i), password: text.slice(i + 1) };
}

interface AuthFile {
  path: string;
  /** ~/.dockercfg: the entries at the top, without `auths`. */
  legacy?: boolean;
}

/**
 * The auth files in the containers tools' order (containers-auth.json(5)):
 * the primary one (--authfile, else $REGISTRY_AUTH_FILE, else
 * $XDG_RUNTIME_DIR/containers/auth.json), then
 * $XDG_CONFIG_HOME/containers/auth.json, then Docker's
 * ($DOCKER_CONFIG/config.json, else ~/.docker/config.json and ~/.dockercfg).
 */
function authFiles(authfile: string | undefined, env: NodeJS.ProcessEnv = process.env): AuthFile[] {
  const primary = authfile ?? (env.REGISTRY_AUTH_FILE || (env.XDG_RUNTIME_DIR ? join(env.XDG_RUNTIME_DIR, 'containers', 'auth.json') : undefined));
  const home = env.HOME || homedir();
  return [
    ...(primary === undefined ? [] : [{ path: primary }]),
    { path: join(env.XDG_CONFIG_HOME || join(home, '.config'), 'containers', 'auth.json') },
    ...(env.DOCKER_CONFIG ? [{ path: join(env.DOCKER_CONFIG, 'config.json') }] : [{ path: join(home, '.docker', 'config.json') }, { path: join(home, '.dockercfg'), legacy: true }]),
  ];
}

interface AuthFileContents {
  auths: Record<string, { auth?: string }>;
  credHelpers: Record<string, string>;
  credsStore?: string;
}

/**
 * Credentials for `registry/repository` from the first auth file that has
 * them. In each file: a credential helper named for the registry in
 * `credHelpers`, then the most specific `auths` key (`host/ns/repo`,
 * `host/ns`, `host`, then Docker's `https://host/...` spelling), then the
 * file's `credsStore` helper. A helper is run as the Docker CLI runs it:
 * `docker-credential-NAME get` with the registry on stdin.
 */
async function lookupCredentials(registry: string, repository: string, files: AuthFile[]): Promise<Credentials | undefined> {
  const parts = repository.split('/');
  const keys = [...parts.map((_, i) => `${registry}/${parts.slice(0, parts.length - i).join('/')}`), registry];
  for (const file of files) {
    const contents = await readAuthFile(file);
    if (!contents) continue;
    const helper = contents.credHelpers[registry];
    if (helper !== undefined) {
      const found = await runHelper(helper, registry, file.path);
      if (found) return found;
    }
    const byKey = new Map(Object.entries(contents.auths).map(([k, v]) => [k.replace(/^https?:\/\//, '').replace(/\/(v1|v2)?\/?$/, ''), v] as const));
    for (const key of keys) {
      const entry = byKey.get(key);
      if (entry?.auth === undefined || entry.auth === '') continue;
      const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
      const i = decoded.indexOf(':');
      if (i <= 0) throw new StrataError(`${file.path}: the auth entry for ${key} is not base64 of user:password; log in again (podman login / docker login)`);
      return { username: decoded.slice(0, i), password: decoded.slice(i + 1) };
    }
    if (contents.credsStore !== undefined) {
      const found = await runHelper(contents.credsStore, registry, file.path);
      if (found) return found;
    }
  }
  return undefined;
}

async function readAuthFile(file: AuthFile): Promise<AuthFileContents | undefined> {
  let text: string;
  try {
    text = await readFile(file.path, 'utf8');
  } catch (e) {
    // A missing auth file is the usual case; one that cannot be read would leave credentials silently unsent.
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw new StrataError(`${file.path}: cannot read the auth file (${code}); fix it or point --authfile elsewhere`);
  }
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // JSON.parse's message quotes the text, which holds secrets.
    throw new StrataError(`${file.path}: not valid JSON; fix the auth file or point --authfile elsewhere`);
  }
  const object = (v: unknown): Record<string, never> => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, never>) : {});
  if (file.legacy) return { auths: object(json), credHelpers: {} };
  const helpers = Object.entries(object(json.credHelpers)).filter(([, v]) => typeof v === 'string');
  return {
    auths: object(json.auths),
    credHelpers: Object.fromEntries(helpers),
    credsStore: typeof json.credsStore === 'string' && json.credsStore !== '' ? json.credsStore : undefined,
  };
}

/**
 * `docker-credential-NAME get`: the registry on stdin, `{"Username",
 * "Secret"}` on stdout; undefined when it holds nothing for the registry.
 * Nothing the helper prints is repeated in messages (it may be a secret).
 */
async function runHelper(name: string, registry: string, file: string): Promise<Credentials | undefined> {
  const tool = `docker-credential-${name}`;
  if (!/^[\w.-]+$/.test(name)) throw new StrataError(`${file}: credential helper '${name}' is not a helper name (docker-credential-NAME)`);
  const { execa } = await import('execa');
  const r = await execa(tool, ['get'], { input: registry, reject: false, stripFinalNewline: true, timeout: 60_000 });
  if (r.failed && (r as { code?: string }).code === 'ENOENT') {
    throw new StrataError(`${file}: credential helper ${tool} for ${registry} is not on PATH; install it, or remove it from the auth file`);
  }
  if (r.exitCode !== 0) {
    if (/credentials not found/i.test(String(r.stdout)) || /credentials not found/i.test(String(r.stderr))) return undefined;
    throw new StrataError(`${tool} get ${registry} failed (${r.exitCode === undefined ? 'did not run to the end' : `exit ${r.exitCode}`}); its output is not shown, as it may hold secrets; run it by hand to see why`, ExitCode.Registry);
  }
  let said: { Username?: unknown; Secret?: unknown };
  try {
    said = JSON.parse(String(r.stdout)) as typeof said;
  } catch {
    throw new StrataError(`${tool} get ${registry}: did not print JSON with Username and Secret (its output is not shown)`, ExitCode.Registry);
  }
  if (typeof said.Username !== 'string' || typeof said.Secret !== 'string' || said.Secret === '') {
    throw new StrataError(`${tool} get ${registry}: printed no Username and Secret (its output is not shown)`, ExitCode.Registry);
  }
  return { username: said.Username, password: said.Secret };
}
