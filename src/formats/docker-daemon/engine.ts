import { type ClientRequest, type IncomingMessage, request } from 'node:http';
import { ExitCode, StrataError } from '../../errors.js';
import { type ByteSink, writeDrained } from '../../output.js';

const DEFAULT_HOST = 'unix:///var/run/docker.sock';

/** An engine answering the Docker Engine API on a unix socket: dockerd, or podman's compatible service. */
export class Engine {
  private constructor(
    readonly host: string,
    private readonly socket: string,
  ) {}

  /** The engine `$DOCKER_HOST` names (unix:// only), else docker's default socket. */
  static fromEnvironment(env: NodeJS.ProcessEnv = process.env): Engine {
    const host = env.DOCKER_HOST !== undefined && env.DOCKER_HOST !== '' ? env.DOCKER_HOST : DEFAULT_HOST;
    if (!host.startsWith('unix://') || host.length === 'unix://'.length) {
      throw new StrataError(`DOCKER_HOST=${host}: strata reaches engines on a unix socket only; set DOCKER_HOST=unix:///PATH (e.g. podman system service's socket)`);
    }
    return new Engine(host, host.slice('unix://'.length));
  }

  /** A GET answered with JSON. */
  async get<T>(path: string): Promise<T> {
    const req = this.request('GET', path);
    req.end();
    const { status, body } = await this.answer(req);
    if (status !== 200) throw this.refused(`GET ${path}`, status, body);
    return JSON.parse(body) as T;
  }

  /** The engine's product name, as /version gives it ("Docker Engine - Community", "Podman Engine"). */
  async name(): Promise<string> {
    const version = await this.get<{ Version?: string; Components?: { Name?: string }[] }>('/version');
    const name = version.Components?.[0]?.Name ?? 'engine';
    return `${name === 'Engine' ? 'Docker Engine' : name} ${version.Version ?? ''}`.trim();
  }

  /** The layer chains the engine holds: the chain ID of every prefix of every image's layers. */
  async heldChains(chainId: (diffIds: readonly string[]) => string): Promise<Set<string>> {
    const images = await this.get<{ Id: string }[]>('/images/json?all=1');
    const held = new Set<string>();
    for (const { Id } of images) {
      const image = await this.get<{ RootFS?: { Layers?: string[] } }>(`/images/${encodeURIComponent(Id)}/json`);
      const layers = image.RootFS?.Layers ?? [];
      for (let i = 1; i <= layers.length; i++) held.add(chainId(layers.slice(0, i)));
    }
    return held;
  }

  /** `POST /images/load`: the archive goes to the returned sink; `done` settles with the engine's answer. */
  load(): { sink: ByteSink; done: Promise<string[]>; abort(): void; brokenOff(): boolean } {
    const req = this.request('POST', '/images/load?quiet=1', { 'Content-Type': 'application/x-tar' });
    const sink = new RequestSink(req, this.host);
    const done = this.answer(req).then(({ status, body }) => {
      // The engine answers 200 with the error as a message of the stream, or an error status.
      const messages = body.split('\n').filter((l) => l.trim() !== '').map((l) => parseMessage(l));
      const failed = messages.find((m) => m.error !== undefined || m.message !== undefined);
      if (status !== 200 || failed) throw this.refused('loading the image', status, failed?.error ?? failed?.message ?? body);
      return messages.flatMap((m) => (m.stream === undefined ? [] : [m.stream.trim()]));
    });
    // Read when the sink ends; an early answer (a refusal) is kept until then.
    done.catch(() => {});
    return { sink, done, abort: () => req.destroy(), brokenOff: () => sink.failure !== undefined };
  }

  private request(method: string, path: string, headers: Record<string, string> = {}): ClientRequest {
    return request({ socketPath: this.socket, path, method, headers: { Host: 'docker', ...headers } });
  }

  private answer(req: ClientRequest): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      req.on('error', (e: NodeJS.ErrnoException) => reject(this.unreachable(e)));
      req.on('response', (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (e) => reject(this.unreachable(e)));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      });
    });
  }

  private unreachable(e: NodeJS.ErrnoException): StrataError {
    const hint = e.code === 'ENOENT' || e.code === 'ECONNREFUSED' ? '; is the engine running (or set DOCKER_HOST=unix:///PATH)?' : '';
    return new StrataError(`docker-daemon ${this.host}: cannot reach the engine (${e.code ?? e.message})${hint}`, ExitCode.Registry);
  }

  private refused(what: string, status: number, body: string): StrataError {
    const text = body.trim().split('\n')[0]!.slice(0, 400);
    return new StrataError(`docker-daemon ${this.host}: ${what} failed (HTTP ${status}): ${text}`, ExitCode.Registry);
  }
}

type Message = { stream?: string; error?: string; message?: string };

function parseMessage(line: string): Message {
  try {
    return JSON.parse(line) as Message;
  } catch {
    return { message: line };
  }
}

/** A request body written with backpressure; a request the engine broke off fails the next write. */
class RequestSink implements ByteSink {
  bytes = 0;
  failure: Error | undefined;

  constructor(
    private readonly req: ClientRequest,
    host: string,
  ) {
    req.on('error', (e: NodeJS.ErrnoException) => {
      this.failure = new StrataError(`docker-daemon ${host}: the engine broke off the load (${e.code ?? e.message})`, ExitCode.Registry);
    });
  }

  // The socket may still hold a written chunk: none is handed back for reuse.
  readonly flushed = false;

  async write(chunk: Buffer): Promise<void> {
    if (this.failure) throw this.failure;
    this.bytes += chunk.length;
    await writeDrained(this.req, chunk);
    if (this.failure) throw this.failure;
  }

  async end(): Promise<void> {
    await new Promise<void>((resolve) => this.req.end(resolve));
  }
}
