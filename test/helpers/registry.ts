/**
 * A real distribution registry (`docker-registry serve`, Debian's
 * docker-registry package) on 127.0.0.1 for the tests, and a counting
 * HTTP proxy to put in front of it. Traffic stays on the loopback.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { type AddressInfo, createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CLI, type CliResult } from './cli.js';
import { nixEnv, runTool, tmpDir, unpackAndRun } from './store.js';

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export interface RegistryOptions {
  /** PEM files of the server certificate and key: serve HTTPS. */
  tls?: { certificate: string; key: string };
  /** An htpasswd file (bcrypt): require HTTP basic auth. */
  htpasswd?: string;
}

export class TestRegistry {
  private child: ChildProcess | undefined;
  readonly dir = tmpDir('strata-registry-');
  readonly logFile = join(this.dir, 'registry.log');

  private constructor(
    readonly port: number,
    private readonly options: RegistryOptions,
  ) {}

  /** Write a config (filesystem storage in a temp dir, a free port) and serve it. */
  static async start(options: RegistryOptions = {}): Promise<TestRegistry> {
    const registry = new TestRegistry(await freePort(), options);
    const config = [
      'version: 0.1',
      'log:',
      '  level: info',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${join(registry.dir, 'data')}`,
      '  delete:',
      '    enabled: true',
      'http:',
      `  addr: 127.0.0.1:${registry.port}`,
      ...(options.tls ? ['  tls:', `    certificate: ${options.tls.certificate}`, `    key: ${options.tls.key}`] : []),
      ...(options.htpasswd ? ['auth:', '  htpasswd:', '    realm: strata-test', `    path: ${options.htpasswd}`] : []),
    ];
    writeFileSync(join(registry.dir, 'config.yml'), config.join('\n') + '\n');
    await registry.restart();
    return registry;
  }

  get host(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Serve again (after kill), waiting until /v2/ answers. */
  async restart(): Promise<void> {
    const log = createWriteStream(this.logFile, { flags: 'a' });
    await new Promise((resolve) => log.once('open', resolve));
    this.child = spawn('docker-registry', ['serve', join(this.dir, 'config.yml')], { stdio: ['ignore', log, log] });
    const started = Date.now();
    while (!(await this.answers())) {
      if (this.child.exitCode !== null || Date.now() - started > 15_000) throw new Error(`docker-registry did not start; see ${this.logFile}`);
      await sleep(50);
    }
  }

  private answers(): Promise<boolean> {
    const get = this.options.tls ? https.get : http.get;
    return new Promise((resolve) => {
      const req = get(`${this.options.tls ? 'https' : 'http'}://${this.host}/v2/`, { rejectUnauthorized: false }, (res) => {
        res.resume();
        resolve(res.statusCode === 200 || res.statusCode === 401);
      });
      req.on('error', () => resolve(false));
    });
  }

  /** Stop it at once (SIGKILL, as a crash), waiting for the process to go. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill(signal);
    await exited;
  }

  stop(): Promise<void> {
    return this.kill('SIGTERM');
  }
}

/** One request the proxy passed on. */
export interface Proxied {
  method: string;
  url: string;
  status: number;
  /** Bytes of the request body. */
  sent: number;
}

export interface ProxyOptions {
  /** Called before a request is passed on (it may wait, or kill the registry). */
  before?(req: http.IncomingMessage): Promise<void> | void;
  /**
   * Play a token-auth registry: answer 401 with a Bearer challenge unless a
   * token from its own /token endpoint is given; tokens come for these
   * credentials only and stop working after `tokenUses` requests.
   */
  bearer?: { user: string; pass: string; tokenUses?: number };
}

/** An HTTP proxy on a free port in front of `target`, recording every request. */
export class CountingProxy {
  readonly log: Proxied[] = [];
  /** Token requests: their scope parameters. */
  readonly tokenScopes: string[][] = [];
  private readonly tokens = new Map<string, number>();

  private constructor(
    private readonly server: http.Server,
    readonly port: number,
  ) {}

  static async start(target: number, options: ProxyOptions = {}): Promise<CountingProxy> {
    let proxy!: CountingProxy;
    const server = http.createServer((req, res) => void proxy.handle(req, res, target, options));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    proxy = new CountingProxy(server, (server.address() as AddressInfo).port);
    return proxy;
  }

  get host(): string {
    return `127.0.0.1:${this.port}`;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse, target: number, options: ProxyOptions): Promise<void> {
    req.pause();
    if (options.bearer && !this.authorized(req, res, options.bearer)) return;
    await options.before?.(req);
    const entry: Proxied = { method: req.method!, url: req.url!, status: 0, sent: 0 };
    this.log.push(entry);
    const headers = { ...req.headers };
    delete headers.authorization;
    const upstream = http.request({ host: '127.0.0.1', port: target, method: req.method, path: req.url, headers }, (up) => {
      entry.status = up.statusCode ?? 0;
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    // The registry went away: so does the client's connection, as with no proxy.
    upstream.on('error', () => req.socket.destroy());
    req.on('data', (chunk: Buffer) => (entry.sent += chunk.length));
    req.pipe(upstream);
    req.resume();
  }

  private authorized(req: http.IncomingMessage, res: http.ServerResponse, bearer: NonNullable<ProxyOptions['bearer']>): boolean {
    const url = new URL(req.url!, `http://${this.host}`);
    if (url.pathname === '/token') {
      req.resume();
      const basic = `Basic ${Buffer.from(`${bearer.user}:${bearer.pass}`).toString('base64')}`;
      if (req.headers.authorization !== basic || url.searchParams.get('service') !== 'strata-test') {
        res.writeHead(401, { 'content-type': 'application/json' }).end('{"errors":[{"code":"UNAUTHORIZED","message":"bad credentials"}]}');
        return false;
      }
      this.tokenScopes.push(url.searchParams.getAll('scope'));
      const token = `token-${this.tokenScopes.length}`;
      this.tokens.set(token, bearer.tokenUses ?? Infinity);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token, expires_in: 300 }));
      return false;
    }
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const uses = token === undefined ? 0 : (this.tokens.get(token) ?? 0);
    if (uses <= 0) {
      req.resume();
      const challenge = `Bearer realm="http://${this.host}/token",service="strata-test"`;
      res.writeHead(401, { 'www-authenticate': challenge, 'content-type': 'application/json' }).end('{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}');
      return false;
    }
    this.tokens.set(token!, uses - 1);
    return true;
  }

  /** Requests whose method is `method` and whose path matches `path`. */
  requests(method: string, path: RegExp): Proxied[] {
    return this.log.filter((r) => r.method === method && path.test(r.url));
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/**
 * Run the built strata CLI without blocking this process (so an in-process
 * proxy can serve it); `onStderr` sees its stderr so far each time more comes.
 */
export function strataAsync(args: readonly string[], env: NodeJS.ProcessEnv = nixEnv(), onStderr?: (stderr: string) => void): Promise<CliResult> {
  const child = spawn(process.execPath, [CLI, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (c: Buffer) => out.push(c));
  child.stderr.on('data', (c: Buffer) => {
    err.push(c);
    onStderr?.(Buffer.concat(err).toString('utf8'));
  });
  return new Promise((resolve) =>
    child.on('close', (status) => {
      const stdoutBytes = Buffer.concat(out);
      resolve({ stdout: stdoutBytes.toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), status: status ?? -1, stdoutBytes });
    }),
  );
}

/** The environment with a fresh, empty $XDG_CACHE_HOME: strata knows nothing of any layer. */
export function emptyCacheEnv(): NodeJS.ProcessEnv {
  return { ...nixEnv(), XDG_CACHE_HOME: tmpDir('strata-empty-cache-') };
}

/** A registry image copied by skopeo to a docker-archive in `dir`, unpacked and run: its stdout. */
export function runPulled(ref: string, dir: string): string {
  const archive = join(dir, `pulled-${Math.random().toString(36).slice(2)}.tar`);
  runTool('skopeo', ['--insecure-policy', 'copy', '--quiet', '--src-tls-verify=false', ref, `docker-archive:${archive}`]);
  return unpackAndRun(archive, []).stdout;
}
