import { Worker } from 'node:worker_threads';

// The worker's whole program: sha256 of whatever chunks arrive, until asked for the digest.
const PROGRAM = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
let hash = createHash('sha256');
parentPort.on('message', (m) => {
  if (m === 'digest') { parentPort.postMessage(hash.digest('hex')); hash = createHash('sha256'); }
  else hash.update(m);
});`;

/**
 * SHA-256 computed on another thread, so a stream can be read, written and
 * hashed on two cores at once.
 */
export class HashThread {
  private readonly worker = new Worker(PROGRAM, { eval: true });
  // Digests come back in the order they were asked for.
  private readonly waiting: { resolve: (hex: string) => void; reject: (e: Error) => void }[] = [];

  constructor() {
    this.worker.unref();
    this.worker.on('message', (hex: string) => this.waiting.shift()?.resolve(hex));
    this.worker.on('error', (e) => {
      for (const w of this.waiting.splice(0)) w.reject(e);
    });
  }

  /**
   * Hash `chunk`. With `handOver` its memory moves to the thread instead of
   * being copied: only for chunks nothing else will read again, and never
   * for slices of Node's shared small-buffer pool.
   */
  update(chunk: Buffer, handOver = false): void {
    const own = handOver && chunk.buffer.byteLength >= 64 * 1024 && chunk.buffer instanceof ArrayBuffer;
    this.worker.postMessage(chunk, own ? [chunk.buffer as ArrayBuffer] : []);
  }

  /** The hex digest of everything since the previous digest. */
  digest(): Promise<string> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.worker.postMessage('digest');
    });
  }

  close(): void {
    void this.worker.terminate();
  }
}
