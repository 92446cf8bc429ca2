import { ExitCode, StrataError } from '../../errors.js';
import type { Bytes } from '../../model/image.js';
import { type Challenge, basicAuthorization, parseChallenge, parseToken, tokenUrl } from './auth.js';
import type { Credentials } from './credentials.js';
import { Connections, type HttpRequest, type HttpResponse, type RetryPolicy, TransientError, checkTransient, networkMessage, retrying, statusMessage, transient } from './http.js';
import { type RegistryReference, formatReference, isLoopback } from './reference.js';
import type { TlsSettings } from './tls.js';
import { StreamDigest, sha256Digest } from '../../model/digest.js';

interface ClientOptions {
  tls: TlsSettings;
  credentials?: Credentials;
  /** Repositories the token must also let us pull from (cross-repository mounts). */
  pullFrom?: string[];
  retries: RetryPolicy;
  warn?: (message: string) => void;
}

/** Bytes per PATCH of a streamed upload: two in memory per blob in flight. */
const UPLOAD_CHUNK = 8 << 20;

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
    if (this.challenge?.scheme === 'bearer') await this.authorization(this.base);
    else if (this.challenge?.scheme === 'basic') {
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
        ? this.options.credentials
          ? `the registry refused the credentials; check --creds or the auth file entry for ${this.ref.registry}`
          : `the registry needs credentials; give --creds USER:PASS or log in (podman login ${this.ref.registry})`
        : res.status === 403
          ? `these credentials may not push to ${this.ref.repository}`
          : res.status === 404
            ? `the registry has no repository ${this.ref.repository} for these credentials`
            : 'the registry refused the request';
    return this.error(`${what}: ${statusMessage(res)}; ${hint}`);
  }

  private async authorization(url: URL): Promise<Record<string, string>> {
    // Credentials go to the registry only, not to wherever an upload is sent.
    if (url.host !== this.base.host || !this.challenge) return {};
    if (this.challenge.scheme === 'basic') return this.options.credentials ? { authorization: basicAuthorization(this.options.credentials) } : {};
    const token = await (this.token ??= this.fetchToken());
    if (Date.now() < token.expires) return { authorization: `Bearer ${token.token}` };
    this.token = undefined;
    return this.authorization(url);
  }

  private async fetchToken(): Promise<{ token: string; expires: number }> {
    const { repository } = this.ref;
    const scopes = [`repository:${repository}:pull,push`, ...(this.options.pullFrom ?? []).map((r) => `repository:${r}:pull`)];
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
    const res = await this.plain({ ...r, headers: { ...r.headers, ...(await this.authorization(r.url)) } });
    if (res.status !== 401 || this.challenge?.scheme !== 'bearer' || !this.token) return res;
    this.token = undefined;
    if (r.body !== undefined && !Buffer.isBuffer(r.body)) throw new TransientError('the registry refused the token mid-upload');
    return this.plain({ ...r, headers: { ...r.headers, ...(await this.authorization(r.url)) } });
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
   * Upload a blob: POST a session, PATCH the bytes as they are produced,
   * PUT `?digest=`. The bytes are hashed on the way; when they are not the
   * blob's the PUT never comes, so a wrong blob is never committed. A failed
   * attempt starts over in a new session.
   */
  async upload(what: string, blob: UploadBlob, session?: URL): Promise<void> {
    await this.retrying(`uploading ${what}`, async () => {
      const started = session ?? (await this.startUpload());
      session = undefined;
      const patched = await this.call({
        method: 'PATCH',
        url: started,
        headers: { 'content-type': 'application/octet-stream', 'content-length': String(blob.size) },
        body: checked(blob, what),
      });
      if (patched.status !== 202 && patched.status !== 204) throw this.refused(`uploading ${what}`, patched);
      const done = patched.headers.location ? this.location(patched) : started;
      done.searchParams.set('digest', blob.digest);
      const put = await this.call({ method: 'PUT', url: done, headers: { 'content-length': '0' } });
      if (put.status !== 201) throw this.refused(`completing the upload of ${what}`, put);
    });
  }

  /**
   * Upload bytes whose digest is learned as they are sent: POST a session,
   * PATCH each chunk (with its Content-Range) as it fills while the next is
   * made, then (unless `check` throws) PUT `?digest=` of what was sent. A
   * failure starts the blob over in a new session, opening its bytes again.
   */
  async uploadStream(what: string, open: () => Bytes, check?: () => Promise<void>): Promise<{ digest: string; size: number }> {
    return this.retrying(`uploading ${what}`, async () => {
      const sum = new StreamDigest();
      let sent: Promise<URL> = this.startUpload();
      // Awaited with the first chunk, or at the end.
      sent.catch(() => {});
      const patch = async (chunk: Buffer): Promise<void> => {
        const at = await sent;
        const from = sum.size - chunk.length;
        sent = this.patch(what, at, chunk, from);
        sent.catch(() => {});
      };
      let parts: Buffer[] = [];
      let filled = 0;
      for await (const chunk of open()) {
        sum.update(chunk);
        parts.push(chunk);
        filled += chunk.length;
        if (filled >= UPLOAD_CHUNK) {
          await patch(Buffer.concat(parts));
          parts = [];
          filled = 0;
        }
      }
      if (filled > 0) await patch(Buffer.concat(parts));
      const done = await sent;
      await check?.();
      const digest = sum.digest();
      done.searchParams.set('digest', digest);
      const put = await this.call({ method: 'PUT', url: done, headers: { 'content-length': '0' } });
      if (put.status !== 201) throw this.refused(`completing the upload of ${what}`, put);
      return { digest, size: sum.size };
    });
  }

  private async patch(what: string, url: URL, chunk: Buffer, from: number): Promise<URL> {
    const res = await this.call({
      method: 'PATCH',
      url,
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(chunk.length), 'content-range': `${from}-${from + chunk.length - 1}` },
      body: chunk,
    });
    if (res.status !== 202) throw this.refused(`uploading ${what}`, res);
    return this.location(res);
  }

  /** A manifest (or index) by tag or digest, as one of `accept`; its digest is checked when asked by digest. */
  async getManifest(reference: string, accept: string[]): Promise<{ mediaType: string; bytes: Buffer; digest: string }> {
    const res = await this.request(`getting the manifest ${reference}`, { method: 'GET', url: this.url(`manifests/${reference}`), headers: { accept: accept.join(', ') } });
    if (res.status !== 200) throw this.refused(`getting the manifest ${reference}`, res);
    const digest = sha256Digest(res.body);
    if (reference.startsWith('sha256:') && digest !== reference) throw this.error(`the manifest ${reference} hashes to ${digest}`);
    const type = res.headers['content-type'];
    const mediaType = (typeof type === 'string' ? type.split(';')[0]!.trim() : '') || ((JSON.parse(res.body.toString('utf8')) as { mediaType?: string }).mediaType ?? '');
    return { mediaType, bytes: res.body, digest };
  }

  /** Whether the repository holds a manifest under `reference` (a tag not there yet is no error). */
  async hasManifest(reference: string, accept: string[]): Promise<boolean> {
    const res = await this.request(`checking the manifest ${reference}`, { method: 'HEAD', url: this.url(`manifests/${reference}`), headers: { accept: accept.join(', ') } });
    if (res.status === 200) return true;
    if (res.status === 404) return false;
    throw this.refused(`checking the manifest ${reference}`, res);
  }

  /** A small blob (a config) whole, checked against its digest. */
  async getBlob(digest: string): Promise<Buffer> {
    let res = await this.request(`getting blob ${digest}`, { method: 'GET', url: this.url(`blobs/${digest}`) });
    // Registries may send blob reads to their storage.
    if ([301, 302, 303, 307, 308].includes(res.status) && res.headers.location) {
      const url = this.location(res);
      res = await this.request(`getting blob ${digest}`, { method: 'GET', url });
    }
    if (res.status !== 200) throw this.refused(`getting blob ${digest}`, res);
    if (sha256Digest(res.body) !== digest) throw this.error(`blob ${digest} hashes to ${sha256Digest(res.body)}`);
    return res.body;
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
