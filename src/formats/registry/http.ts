import http, { type IncomingHttpHeaders } from 'node:http';
import https from 'node:https';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Bytes } from '../../model/image.js';
import type { TlsSettings } from './tls.js';
import { doneWith } from '../../util/streams.js';

export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** An answer whose body is still to be read. */
export interface StreamedResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: http.IncomingMessage;
}

export interface HttpRequest {
  method: string;
  url: URL;
  headers?: Record<string, string>;
  /** Bytes (whole, or as pieces sent in one write), or a stream sent as it is read (chunked unless a content-length header is given). */
  body?: Buffer | Buffer[] | Bytes;
}

/** How long a request may wait on a silent peer. */
const IDLE_TIMEOUT_MS = 120_000;

/** Keep-alive connections to one registry, over http and https. */
export class Connections {
  private readonly https: https.Agent;
  private readonly http = new http.Agent({ keepAlive: true });

  constructor(tls: TlsSettings) {
    this.https = new https.Agent({ keepAlive: true, rejectUnauthorized: tls.verify, ca: tls.ca, cert: tls.cert, key: tls.key });
  }

  /** One request; the response body is read whole (registries answer these with small JSON). */
  send(r: HttpRequest): Promise<HttpResponse> {
    const secure = r.url.protocol === 'https:';
    return new Promise<HttpResponse>((resolve, reject) => {
      const req = (secure ? https : http).request(r.url, { method: r.method, headers: r.headers, agent: secure ? this.https : this.http }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) });
          // An early answer (an error before the whole body was sent) stops the upload.
          if (!req.writableFinished) req.destroy();
        });
      });
      req.setTimeout(IDLE_TIMEOUT_MS, () => req.destroy(Object.assign(new Error(`no answer for ${IDLE_TIMEOUT_MS / 1000} s`), { code: 'ETIMEDOUT' })));
      req.on('error', reject);
      if (r.body === undefined || Buffer.isBuffer(r.body)) req.end(r.body);
      else if (Array.isArray(r.body)) {
        req.cork();
        for (const part of r.body) req.write(part);
        req.end();
      } else writeBody(r.body, req).catch((e: Error) => req.destroy(e));
    });
  }

  /** One request whose answer's body is left to stream (blobs): the caller reads or destroys it. */
  open(r: HttpRequest): Promise<StreamedResponse> {
    const secure = r.url.protocol === 'https:';
    return new Promise<StreamedResponse>((resolve, reject) => {
      const req = (secure ? https : http).request(r.url, { method: r.method, headers: r.headers, agent: secure ? this.https : this.http }, (res) =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: res }),
      );
      req.setTimeout(IDLE_TIMEOUT_MS, () => req.destroy(Object.assign(new Error(`no answer for ${IDLE_TIMEOUT_MS / 1000} s`), { code: 'ETIMEDOUT' })));
      req.on('error', reject);
      req.end();
    });
  }

  close(): void {
    this.https.destroy();
    this.http.destroy();
  }
}

/**
 * A streamed body written to the request as it comes, each chunk given back
 * to its producer once the socket has taken it (see doneWith); it stops
 * early when the request is destroyed (an early answer, a failure).
 */
async function writeBody(body: Bytes, req: http.ClientRequest): Promise<void> {
  const closed = new Promise<void>((resolve) => req.once('close', resolve));
  for await (const chunk of body) {
    if (req.destroyed) return;
    if (!req.write(chunk, (e) => e || doneWith(chunk))) await Promise.race([once(req, 'drain'), closed]);
  }
  if (!req.destroyed) req.end();
}

const TRANSIENT_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'ECONNABORTED', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']);

/** A failure worth trying again: the network, a 5xx or a 429. */
export class TransientError extends Error {
  constructor(
    message: string,
    /** Seconds the server asked to wait (Retry-After). */
    readonly retryAfter?: number,
  ) {
    super(message);
  }
}

/** A network error as a TransientError when it is one, else as it is. */
export function transient(e: unknown): unknown {
  const code = (e as NodeJS.ErrnoException).code;
  return code !== undefined && TRANSIENT_CODES.has(code) ? new TransientError(networkMessage(e as NodeJS.ErrnoException)) : e;
}

export function networkMessage(e: NodeJS.ErrnoException): string {
  return e.code && !e.message.includes(e.code) ? `${e.message} (${e.code})` : e.message;
}

/** Throw a TransientError for the answers a retry may cure. */
export function checkTransient(res: HttpResponse): void {
  if (res.status >= 500 || res.status === 429) {
    const after = Number(res.headers['retry-after']);
    throw new TransientError(statusMessage(res), Number.isFinite(after) && after >= 0 ? after : undefined);
  }
}

/**
 * The status and the registry's own words: the `errors` list of its JSON
 * body (code: message), on one line.
 */
export function statusMessage(res: HttpResponse): string {
  let said = '';
  try {
    const errors = (JSON.parse(res.body.toString('utf8')) as { errors?: { code?: string; message?: string }[] }).errors;
    if (Array.isArray(errors)) said = errors.map((e) => [e.code, e.message].filter(Boolean).join(': ')).join('; ');
  } catch {
    // Not JSON: the status alone.
  }
  const line = `HTTP ${res.status} ${http.STATUS_CODES[res.status] ?? ''}`.trim() + (said ? `: ${said}` : '');
  return line.replace(/\s+/g, ' ').slice(0, 500);
}

export interface RetryPolicy {
  /** Retries after the first attempt. */
  times: number;
  /** Seconds before the first retry, doubled after each; a fixed delay when `fixed`. */
  delay: number;
  fixed?: boolean;
}

export const DEFAULT_RETRIES: RetryPolicy = { times: 5, delay: 0.5 };

/** Run `attempt` again after transient failures, waiting longer each time (or as Retry-After says). */
export async function retrying<T>(policy: RetryPolicy, attempt: () => Promise<T>, onRetry?: (why: string, wait: number) => void): Promise<T> {
  for (let n = 0; ; n++) {
    try {
      return await attempt();
    } catch (e) {
      const t = transient(e);
      if (!(t instanceof TransientError) || n >= policy.times) throw t;
      const wait = Math.min(t.retryAfter ?? (policy.fixed ? policy.delay : policy.delay * 2 ** n), 60);
      onRetry?.(t.message, wait);
      await sleep(wait * 1000);
    }
  }
}
