/**
 * A registry front as object-storage-backed registries behave: requests go
 * on to the real registry (credentials and all) on 127.0.0.1, except blob
 * GET and HEAD, which, once the registry says the caller may have the blob,
 * are answered 307 to a "storage" server on another loopback address
 * (127.0.0.2) that serves them. The storage server records every request's
 * headers, so a test can tell what reached it.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request the storage host received. */
export interface StorageRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
}

const BLOB = /^\/v2\/(.+)\/blobs\/(sha256:[0-9a-f]{64})$/;

export class RedirectingFront {
  readonly storageRequests: StorageRequest[] = [];
  /** Blob requests the front answered with a redirect. */
  redirected = 0;

  private constructor(
    private readonly front: http.Server,
    private readonly storage: http.Server,
  ) {}

  /**
   * In front of the registry on 127.0.0.1:`target`; the storage server
   * fetches blobs from it with `storageAuth` (its own Authorization, as
   * a bucket has its own keys), never with the caller's.
   */
  static async start(target: number, storageAuth?: string): Promise<RedirectingFront> {
    let self!: RedirectingFront;
    const front = http.createServer((req, res) => void self.handleFront(req, res, target));
    const storage = http.createServer((req, res) => self.handleStorage(req, res, target, storageAuth));
    await Promise.all([
      new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve)),
      new Promise<void>((resolve) => storage.listen(0, '127.0.0.2', resolve)),
    ]);
    self = new RedirectingFront(front, storage);
    return self;
  }

  get host(): string {
    return `127.0.0.1:${(this.front.address() as AddressInfo).port}`;
  }

  get storageHost(): string {
    return `127.0.0.2:${(this.storage.address() as AddressInfo).port}`;
  }

  private async handleFront(req: http.IncomingMessage, res: http.ServerResponse, target: number): Promise<void> {
    const blob = BLOB.exec(new URL(req.url!, 'http://front').pathname);
    if (blob && (req.method === 'GET' || req.method === 'HEAD')) {
      // The registry decides whether the caller may have the blob (and whether it exists).
      const check = await forward(target, { method: 'HEAD', path: req.url!, headers: req.headers });
      check.resume();
      if (check.statusCode === 200) {
        this.redirected++;
        const location = `http://${this.storageHost}/bucket/${blob[1]}/${blob[2]}?X-Signature=signed`;
        res.writeHead(307, { location, 'content-length': '0' }).end();
        return;
      }
      res.writeHead(check.statusCode ?? 502, check.headers).end();
      return;
    }
    const upstream = http.request({ host: '127.0.0.1', port: target, method: req.method, path: req.url, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    upstream.on('error', () => req.socket.destroy());
    req.pipe(upstream);
  }

  private handleStorage(req: http.IncomingMessage, res: http.ServerResponse, target: number, storageAuth: string | undefined): void {
    this.storageRequests.push({ method: req.method!, url: req.url!, headers: req.headers });
    req.resume();
    const m = /^\/bucket\/(.+)\/(sha256:[0-9a-f]{64})$/.exec(new URL(req.url!, 'http://storage').pathname);
    if (!m) {
      res.writeHead(404).end();
      return;
    }
    const upstream = http.request(
      { host: '127.0.0.1', port: target, method: req.method, path: `/v2/${m[1]}/blobs/${m[2]}`, headers: storageAuth ? { authorization: storageAuth } : {} },
      (up) => {
        res.writeHead(up.statusCode ?? 502, { 'content-type': 'application/octet-stream', ...(up.headers['content-length'] ? { 'content-length': up.headers['content-length'] } : {}) });
        up.pipe(res);
      },
    );
    upstream.on('error', () => req.socket.destroy());
    upstream.end();
  }

  close(): Promise<void> {
    this.front.closeAllConnections();
    this.storage.closeAllConnections();
    return Promise.all([new Promise((resolve) => this.front.close(resolve)), new Promise((resolve) => this.storage.close(resolve))]).then(() => {});
  }
}

function forward(port: number, r: { method: string; path: string; headers: http.IncomingHttpHeaders }): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method: r.method, path: r.path, headers: { ...r.headers, host: `127.0.0.1:${port}` } }, resolve);
    req.on('error', reject);
    req.end();
  });
}
