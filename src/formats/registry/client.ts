import { ExitCode, StrataError } from '../../errors.js';
import type { Bytes } from '../../model/image.js';
import { type Challenge, basicAuthorization, parseChallenge, parseToken, tokenUrl } from './auth.js';
import type { Credentials } from './credentials.js';
import { Connections, type HttpRequest, type HttpResponse, type RetryPolicy, type StreamedResponse, TransientError, checkTransient, networkMessage, retrying, statusMessage, transient } from './http.js';
import { type RegistryReference, formatReference, isLoopback } from './reference.js';
import type { TlsSettings } from './tls.js';
import { StreamDigest, sha256Digest } from '../../model/digest.js';

interface ClientOptions {
  tls: TlsSettings;
  credentials?: Credentials;
  /** A bearer token given as it is (--registry-token): sent instead of asking a token service. */
  token?: string;
  /** What the token must allow on the repository: pulling alone, or pushing too (the default). */
  access?: 'pull' | 'push';
  /** Repositories the token must also let us pull from (cross-repository mounts). */
  pullFrom?: string[];
  retries: RetryPolicy;
  warn?: (message: string) => void;
}

/** Bytes whose producer takes their sha256 itself, on another thread (see hashingZstd): `digest()`, hex, once they are through. */
interface HashedBytes {
  bytes: Bytes;
  digest(): string;
}

/** A blob to upload: opened once per attempt, checked against its digest and size as it is sent. */
export interface UploadBlob {
  digest: string;
  size: number;
  open(): Bytes;
}

/**
 * The OCI distribution API for pushing to one repository, over Node's
 * http/https: HEAD, mount and upload blobs, then put manifests. Finds the
 * scheme and the auth challenge with `GET /v2/` first, as docker and skopeo
 * do; authenticates with HTTP basic or a bearer token from the challenge's
 * token service (renewed when it lapses or is refused); retries what the
 * network or a busy registry broke.
 */
export class RegistryClient {
  private base!: URL;
  private challenge: Challenge | undefined;
  private token: Promise<{ token: string; expires: number }> | undefined;
  private readonly where: string;

  private constructor(
    readonly ref: RegistryReference,
    private readonly conns: Connections,
    private readonly options: ClientOptions,
  ) {
    this.where = formatReference(ref);
  }

  static async connect(ref: RegistryReference, options: ClientOptions): Promise<RegistryClient> {
    const client = new RegistryClient(ref, new Connections(options.tls), options);
    try {
      await client.ping();
      await client.login();
    } catch (e) {
      client.close();
      throw e;
    }
    return client;
  }

  close(): void {
    this.conns.close();
  }

  /** HTTPS first; plain HTTP only for loopback hosts or with TLS verification off (as skopeo). */
  private async ping(): Promise<void> {
    const schemes = this.options.tls.verify && !isLoopback(this.ref.hostname) ? ['https'] : ['https', 'http'];
    let httpsError: NodeJS.ErrnoException | undefined;
    for (const scheme of schemes) {
      const base = new URL(`${scheme}://${this.ref.registry}`);
      let res: HttpResponse;
      try {
        res = await this.conns.send({ method: 'GET', url: new URL('/v2/', base) });
      } catch (e) {
        httpsError ??= e as NodeJS.ErrnoException;
        continue;
      }
      // A TLS server answering plain HTTP says 400: the HTTPS failure is the one to tell.
      if (httpsError && res.status !== 200 && res.status !== 401) break;
      if (res.status === 401) {
        this.challenge = parseChallenge(res.headers['www-authenticate']);
        const scheme = this.challenge?.scheme;
        if (scheme !== 'basic' && !(scheme === 'bearer' && this.challenge?.params.realm)) {
          throw this.error(`the registry asks for authentication strata does not speak (${res.headers['www-authenticate'] ?? 'no WWW-Authenticate header'}); only Basic and Bearer are supported`);
        }
      } else if (res.status !== 200) {
        throw this.error(`GET ${base.origin}/v2/: ${statusMessage(res)}; is ${this.ref.registry} an OCI distribution (Docker v2) registry?`);
      }
      this.base = base;
      return;
    }
    const e = httpsError!;
    const refused = ['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT'].includes(e.code ?? '');
    throw this.error(
      refused
        ? `cannot connect to ${this.ref.registry}: ${networkMessage(e)}; is a registry listening there?`
        : `cannot connect over HTTPS: ${networkMessage(e)}; give the registry's CA with --cert-dir DIR (as DIR/ca.crt), or --tls-verify=false`,
    );
  }

  /** Try the credentials (or get a token) before any work, as `podman login` would. */
  private async login(): Promise<void> {
    if (this.challenge?.scheme === 'bearer' && this.options.token === undefined) await this.authorization(this.base);
    else if (this.challenge) {
      const res = await this.request('logging in', { method: 'GET', url: new URL('/v2/', this.base) });
      if (res.status !== 200) throw this.refused('logging in', res);
    }
  }

  private error(message: string): StrataError {
    return new StrataError(`${this.where}: ${message}`, ExitCode.Registry);
  }

  /** A refusal, with the registry's own words and what to do. */
  private refused(what: string, res: HttpResponse): StrataError {
    const hint =
      res.status === 401
        ? this.options.credentials || this.options.token !== undefined
          ? `the registry refused the credentials; check --creds, --registry-token, or the auth file entry (or credential helper) for ${this.ref.registry}`
          : `the registry needs credentials; give --authfile FILE or --creds USER:PASS, or log in (podman login ${this.ref.registry})`
        : res.status === 403
          ? `these credentials may not ${this.options.access ?? 'push'} ${this.options.access === 'pull' ? 'from' : 'to'} ${this.ref.repository}`
          : res.status === 404
            ? `the registry has no repository ${this.ref.repository} for these credentials`
            : 'the registry refused the request';
    return this.error(`${what}: ${statusMessage(res)}; ${hint}`);
  }

  /**
   * An answer to a request on an upload session: a 404 there means the
   * registry lost the session (restarted, or expired it while other blobs
   * were sent), which a new session cures.
   */
  private uploadRefused(what: string, res: HttpResponse): Error {
    return res.status === 404 ? new TransientError(`${statusMessage(res)} (the registry lost the upload session)`) : this.refused(what, res);
  }

  private async authorization(url: URL): Promise<Record<string, string>> {
    // Credentials go to the registry only, not to wherever an upload is sent.
    if (url.host !== this.base.host || !this.challenge) return {};
    if (this.options.token !== undefined) return { authorization: `Bearer ${this.options.token}` };
    if (this.challenge.scheme === 'basic') return this.options.credentials ? { authorization: basicAuthorization(this.options.credentials) } : {};
    const token = await (this.token ??= this.fetchToken());
    if (Date.now() < token.expires) return { authorization: `Bearer ${token.token}` };
    this.token = undefined;
    return this.authorization(url);
  }

  private async fetchToken(): Promise<{ token: string; expires: number }> {
    const { repository } = this.ref;
    const scopes = [`repository:${repository}:${this.options.access === 'pull' ? 'pull' : 'pull,push'}`, ...(this.options.pullFrom ?? []).map((r) => `repository:${r}:pull`)];
    const url = tokenUrl(this.challenge!, scopes);
    const service = `the token service ${url.origin}${url.pathname}`;
    const headers: Record<string, string> = this.options.credentials ? { authorization: basicAuthorization(this.options.credentials) } : {};
    const res = await this.retrying('requesting a token', () => this.plain({ method: 'GET', url, headers }));
    if (res.status === 401 || res.status === 403) throw this.refused(`${service} refused`, res);
    if (res.status !== 200) throw this.error(`${service}: ${statusMessage(res)}`);
    const token = parseToken(res.body, Date.now());
    if (!token) throw this.error(`${service} answered without a token`);
    return token;
  }

  /** One request without auth; network failures and 5xx/429 as TransientError. */
  private async plain(r: HttpRequest): Promise<HttpResponse> {
    const res = await this.conns.send(r).catch((e: unknown) => {
      throw transient(e);
    });
    checkTransient(res);
    return res;
  }

  /** One authorized request; a refused token is renewed once (streamed bodies then start again). */
  private async call(r: HttpRequest): Promise<HttpResponse> {
    let res = await this.plain({ ...r, headers: { ...r.headers, ...(await this.authorization(r.url)) } });
    if (this.renewable(res)) {
      if (r.body !== undefined && !Buffer.isBuffer(r.body) && !Array.isArray(r.body)) throw new TransientError('the registry refused the token mid-upload');
      res = await this.plain({ ...r, headers: { ...r.headers, ...(await this.authorization(r.url)) } });
    }
    return this.redirected(r, res, (next) => this.plain(next));
  }

  /** A 401 that a new token may cure: the one we hold is dropped. */
  private renewable(res: { status: number }): boolean {
    if (res.status !== 401 || this.challenge?.scheme !== 'bearer' || !this.token) return false;
    this.token = undefined;
    return true;
  }

  /**
   * Follow redirects of a bodiless request (blob HEAD and GET, answered by
   * object storage on another host): each hop is asked with credentials only
   * when it is the registry itself (see authorization).
   */
  private async redirected<R extends { status: number; headers: HttpResponse['headers'] }>(r: HttpRequest, res: R, send: (r: HttpRequest) => Promise<R>, drop: (res: R) => void = () => {}): Promise<R> {
    for (let hops = 0; REDIRECTS.has(res.status) && (r.method === 'GET' || r.method === 'HEAD'); hops++) {
      const location = res.headers.location;
      if (!location || hops >= MAX_REDIRECTS) throw this.error(`${r.method} ${r.url.pathname}: ${hops >= MAX_REDIRECTS ? `more than ${MAX_REDIRECTS} redirects` : `HTTP ${res.status} without a Location`}`);
      drop(res);
      const url = new URL(location, r.url);
      if (url.protocol !== 'https:' && url.protocol !== 'http:') throw this.error(`${r.method} ${r.url.pathname}: redirected to a ${url.protocol} URL`);
      r = { method: r.method, url, headers: { ...withoutAuthorization(r.headers), ...(await this.authorization(url)) } };
      res = await send(r);
    }
    return res;
  }

  /** `attempt` retried as the policy says; what still fails becomes one line naming `what`. */
  private async retrying<T>(what: string, attempt: () => Promise<T>): Promise<T> {
    try {
      return await retrying(this.options.retries, attempt, (why, wait) => this.options.warn?.(`${this.where}: ${what}: ${why}; retrying in ${wait} s`));
    } catch (e) {
      if (e instanceof StrataError) throw e;
      const retries = this.options.retries.times;
      if (e instanceof TransientError) throw this.error(`${what}: ${e.message}${retries > 0 ? ` (tried ${retries + 1} times)` : ''}`);
      if ((e as NodeJS.ErrnoException).code !== undefined) throw this.error(`${what}: ${networkMessage(e as NodeJS.ErrnoException)}`);
      throw e;
    }
  }

  private url(path: string): URL {
    return new URL(`/v2/${this.ref.repository}/${path}`, this.base);
  }

  private request(what: string, r: HttpRequest): Promise<HttpResponse> {
    return this.retrying(what, () => this.call(r));
  }

  /**
   * The manifest (or index) `reference` (a tag or digest) names, asking for
   * the `accept` media types; checked against the digest when it is one.
   */
  async getManifest(reference: string, accept: string[]): Promise<{ mediaType: string; bytes: Buffer; digest: string }> {
    const what = `getting the manifest ${reference}`;
    const res = await this.request(what, { method: 'GET', url: this.url(`manifests/${reference}`), headers: { accept: accept.join(', ') } });
    if (res.status === 404) throw this.error(`${what}: ${statusMessage(res)}; the registry has no ${reference} in ${this.ref.repository}`);
    if (res.status !== 200) throw this.refused(what, res);
    const digest = sha256Digest(res.body);
    if (reference.startsWith('sha256:') && digest !== reference) {
      throw new StrataError(`${this.where}: the manifest the registry sent for ${reference} has the digest ${digest}; the registry is damaged or not the one meant`, ExitCode.Integrity);
    }
    const type = res.headers['content-type']?.split(';')[0]?.trim();
    let mediaType = type !== undefined && type !== '' && type !== 'application/json' && type !== 'text/plain' ? type : undefined;
    if (mediaType === undefined) {
      try {
        const said = (JSON.parse(res.body.toString('utf8')) as { mediaType?: unknown }).mediaType;
        if (typeof said === 'string') mediaType = said;
      } catch {
        // Told as not JSON by the reader.
      }
    }
    return { mediaType: mediaType ?? '', bytes: res.body, digest };
  }

  /**
   * A blob's bytes as they arrive (never held whole), following redirects
   * to the storage that serves them. The caller checks the digest.
   */
  async *getBlob(digest: string): AsyncGenerator<Buffer> {
    const what = `getting blob ${digest}`;
    const res = await this.retrying(what, () => this.openBlob(digest));
    let received = 0;
    try {
      for await (const chunk of res.body as AsyncIterable<Buffer>) {
        received += chunk.length;
        yield chunk;
      }
    } catch (e) {
      // Told as the network's failure, not as a damaged image.
      throw this.error(`${what}: the connection broke after ${received} bytes (${networkMessage(e as NodeJS.ErrnoException)})`);
    } finally {
      if (!res.body.complete) res.body.destroy();
    }
  }

  private async openBlob(digest: string): Promise<StreamedResponse> {
    const r: HttpRequest = { method: 'GET', url: this.url(`blobs/${digest}`) };
    const send = async (next: HttpRequest): Promise<StreamedResponse> => {
      const res = await this.conns.open(next).catch((e: unknown) => {
        throw transient(e);
      });
      if (res.status !== 200 && res.status !== 401 && !REDIRECTS.has(res.status)) {
        const body = await readAll(res.body);
        const whole = { status: res.status, headers: res.headers, body };
        checkTransient(whole);
        throw this.refused(`getting blob ${digest}`, whole);
      }
      return res;
    };
    let res = await send({ ...r, headers: await this.authorization(r.url) });
    if (this.renewable(res)) {
      res.body.resume();
      res = await send({ ...r, headers: await this.authorization(r.url) });
    }
    res = await this.redirected(r, res, send, (hop) => hop.body.resume());
    if (res.status !== 200) {
      const whole = { status: res.status, headers: res.headers, body: await readAll(res.body) };
      throw this.refused(`getting blob ${digest}`, whole);
    }
    return res;
  }

  async blobExists(digest: string): Promise<boolean> {
    const res = await this.request(`checking blob ${digest}`, { method: 'HEAD', url: this.url(`blobs/${digest}`) });
    if (res.status === 200) return true;
    if (res.status === 404) return false;
    throw this.refused(`checking blob ${digest}`, res);
  }

  /** Link a blob from another repository of the registry; else the upload session the registry opened instead. */
  async mount(digest: string, from: string): Promise<'mounted' | URL> {
    const url = this.url('blobs/uploads/');
    url.searchParams.set('mount', digest);
    url.searchParams.set('from', from);
    const res = await this.request(`mounting ${digest}`, { method: 'POST', url, headers: { 'content-length': '0' } });
    if (res.status === 201) return 'mounted';
    if (res.status === 202) return this.location(res);
    throw this.refused(`mounting ${digest} from ${from}`, res);
  }

  /**
   * Upload a blob: POST a session, then PUT `?digest=` with the blob's
   * bytes when it is small (read and checked first), else PATCH the bytes
   * as they are produced and PUT with none. The bytes are hashed on the way;
   * when they are not the blob's the PUT never comes, so a wrong blob is
   * never committed. A failed attempt starts over in a new session.
   */
  async upload(what: string, blob: UploadBlob, session?: URL): Promise<void> {
    await this.retrying(`uploading ${what}`, async () => {
      const started = session ?? (await this.startUpload());
      session = undefined;
      if (blob.size <= WHOLE) {
        const bytes: Buffer[] = [];
        for await (const chunk of checked(blob, what)) bytes.push(chunk);
        return this.complete(what, started, blob.digest, bytes);
      }
      const patched = await this.call({
        method: 'PATCH',
        url: started,
        headers: { 'content-type': 'application/octet-stream', 'content-length': String(blob.size) },
        body: checked(blob, what),
      });
      if (patched.status !== 202 && patched.status !== 204) throw this.uploadRefused(`uploading ${what}`, patched);
      await this.complete(what, patched.headers.location ? this.location(patched) : started, blob.digest);
    });
  }

  /**
   * Upload bytes whose digest is learned as they are sent. The session is
   * POSTed while the first bytes are made; bytes that end within WHOLE go
   * whole in the PUT that names their digest, others in one PATCH whose
   * body streams them as they are made (as docker and skopeo push), then
   * (unless `check` throws) a PUT `?digest=` of what was sent (hashed here,
   * unless their producer does). A failure starts the blob over in a new
   * session, opening its bytes again.
   */
  async uploadStream(what: string, open: () => Bytes | HashedBytes, check?: () => Promise<void>): Promise<{ digest: string; size: number }> {
    return this.retrying(`uploading ${what}`, async () => {
      const starting = this.startUpload();
      // Awaited below; when the bytes fail first, theirs is the failure told.
      starting.catch(() => {});
      const sum = new StreamDigest();
      let hashedBy: HashedBytes | undefined;
      let size = 0;
      const source = (async function* () {
        const opened = open();
        hashedBy = 'digest' in opened ? opened : undefined;
        for await (const chunk of hashedBy?.bytes ?? (opened as Bytes)) {
          size += chunk.length;
          if (!hashedBy) sum.update(chunk);
          yield chunk;
        }
      })();
      const digest = (): string => (hashedBy ? `sha256:${hashedBy.digest()}` : sum.digest());
      let next = await source.next();
      try {
        const held: Buffer[] = [];
        while (!next.done && size <= WHOLE) {
          held.push(next.value);
          next = await source.next();
        }
        const started = await starting;
        if (!next.done) {
          async function* body(): AsyncGenerator<Buffer> {
            yield* held;
            for (; !next.done; next = await source.next()) yield next.value;
          }
          const patched = await this.call({ method: 'PATCH', url: started, headers: { 'content-type': 'application/octet-stream' }, body: body() });
          if (patched.status !== 202 && patched.status !== 204) throw this.uploadRefused(`uploading ${what}`, patched);
          await check?.();
          const sent = { digest: digest(), size };
          await this.complete(what, patched.headers.location ? this.location(patched) : started, sent.digest);
          return sent;
        }
        await check?.();
        const sent = { digest: digest(), size };
        await this.complete(what, started, sent.digest, held);
        return sent;
      } finally {
        // Bytes left unread (a refused session): their files are closed.
        if (!next.done) await source.return?.(undefined);
      }
    });
  }

  /** PUT `?digest=` on the session, with the blob's bytes when they were not PATCHed. */
  private async complete(what: string, session: URL, digest: string, bytes: Buffer[] = []): Promise<void> {
    const url = new URL(session);
    url.searchParams.set('digest', digest);
    const size = bytes.reduce((n, b) => n + b.length, 0);
    const headers: Record<string, string> = size > 0 ? { 'content-type': 'application/octet-stream', 'content-length': String(size) } : { 'content-length': '0' };
    const put = await this.call({ method: 'PUT', url, headers, body: size > 0 ? bytes : undefined });
    if (put.status !== 201) throw this.uploadRefused(`completing the upload of ${what}`, put);
  }

  /** Whether the repository holds a manifest under `reference` (a tag not there yet is no error). */
  async hasManifest(reference: string, accept: string[]): Promise<boolean> {
    const res = await this.request(`checking the manifest ${reference}`, { method: 'HEAD', url: this.url(`manifests/${reference}`), headers: { accept: accept.join(', ') } });
    if (res.status === 200) return true;
    if (res.status === 404) return false;
    throw this.refused(`checking the manifest ${reference}`, res);
  }

  /** A small blob (a config) whole, checked against its digest. */
  async readBlob(digest: string): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const c of this.getBlob(digest)) chunks.push(c);
    const bytes = Buffer.concat(chunks);
    if (sha256Digest(bytes) !== digest) throw this.error(`blob ${digest} hashes to ${sha256Digest(bytes)}; the registry is damaged or not the one meant`);
    return bytes;
  }

  private async startUpload(): Promise<URL> {
    const res = await this.call({ method: 'POST', url: this.url('blobs/uploads/'), headers: { 'content-length': '0' } });
    if (res.status !== 202) throw this.refused('starting an upload', res);
    return this.location(res);
  }

  private location(res: HttpResponse): URL {
    if (!res.headers.location) throw this.error(`the registry answered ${res.status} without a Location for the upload`);
    return new URL(res.headers.location, this.base);
  }

  /** GET `manifests/REF` or `referrers/DIGEST` of the repository: media type and bytes, or undefined when there is none (404). */
  async get(path: string, accept: string): Promise<{ mediaType: string; bytes: Buffer } | undefined> {
    const res = await this.request(`reading ${path}`, { method: 'GET', url: this.url(path), headers: { accept } });
    if (res.status === 404) return undefined;
    if (res.status !== 200) throw this.refused(`reading ${path}`, res);
    return { mediaType: String(res.headers['content-type'] ?? '').split(';')[0]!.trim(), bytes: res.body };
  }

  /** PUT a manifest under a tag or digest; returns the digest the registry gives it. */
  async putManifest(reference: string, mediaType: string, bytes: Buffer): Promise<string> {
    const res = await this.request(`putting the manifest`, {
      method: 'PUT',
      url: this.url(`manifests/${reference}`),
      headers: { 'content-type': mediaType, 'content-length': String(bytes.length) },
      body: bytes,
    });
    if (res.status !== 201 && res.status !== 200) throw this.refused(`putting the manifest ${reference}`, res);
    const digest = sha256Digest(bytes);
    const said = res.headers['docker-content-digest'];
    if (typeof said === 'string' && said !== digest) throw this.error(`the registry stored the manifest as ${said}, not as its digest ${digest}`);
    return digest;
  }
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 5;
/**
 * Blobs of at most this many bytes are held and sent in the PUT that names
 * their digest (POST, PUT: the spec's monolithic upload) instead of a PATCH
 * and an empty PUT: one request fewer, which costs docker-registry about a
 * third of its work per blob. At most one such blob per upload in flight.
 */
const WHOLE = 1 << 20;

function withoutAuthorization(headers: Record<string, string> | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(headers ?? {}).filter(([k]) => k.toLowerCase() !== 'authorization'));
}

async function readAll(body: AsyncIterable<Buffer>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of body) chunks.push(c);
  return Buffer.concat(chunks);
}

/** The blob's bytes, failing when they are not its size and digest (the upload is then never completed). */
async function* checked(blob: UploadBlob, what: string): AsyncGenerator<Buffer> {
  const sum = new StreamDigest();
  const changed = (how: string): StrataError =>
    new StrataError(`${what}: ${how}; its files changed while it was pushed, or the recorded digest is wrong`, ExitCode.Integrity);
  for await (const chunk of blob.open()) {
    sum.update(chunk);
    if (sum.size > blob.size) throw changed(`more than the ${blob.size} bytes measured`);
    yield chunk;
  }
  if (sum.size !== blob.size) throw changed(`${sum.size} bytes instead of the ${blob.size} measured`);
  const digest = sum.digest();
  if (digest !== blob.digest) throw changed(`content digest ${digest} instead of ${blob.digest}`);
}
