import { Worker } from 'node:worker_threads';

// The worker's whole program: sha256 of whatever chunks arrive, acknowledging
// each one (by size), until asked for the digest.
const PROGRAM = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
let hash = createHash('sha256');
parentPort.on('message', (m) => {
  if (m === 'digest') { parentPort.postMessage({ hex: hash.digest('hex') }); hash = createHash('sha256'); }
  else {
    hash.update(m);
    // The memory goes back, to be filled again: it arrived as this thread's own
    // (handed over, or a copy), whole even when the chunk was a part of it.
    parentPort.postMessage({ done: m.length, back: m.buffer }, [m.buffer]);
  }
});`;

/** Bytes sent and not yet hashed before `update` makes its caller wait: memory stays bounded. */
const IN_FLIGHT = 32 << 20;

/**
 * SHA-256 computed on another thread, so a stream can be read, written and
 * hashed on two cores at once.
 */
export class HashThread {
  private readonly worker = new Worker(PROGRAM, { eval: true });
  // Digests come back in the order they were asked for.
  private readonly waiting: { resolve: (hex: string) => void; reject: (e: Error) => void }[] = [];
  private inFlight = 0;
  private drained: (() => void) | undefined;

  /** `recycle` receives the memory of handed-over chunks once hashed. */
  constructor(private readonly recycle?: (memory: ArrayBuffer) => void) {
    this.worker.unref();
    this.worker.on('message', (m: { hex?: string; done?: number; back?: ArrayBuffer }) => {
      if (m.hex !== undefined) this.waiting.shift()?.resolve(m.hex);
      else {
        if (m.back) this.recycle?.(m.back);
        this.inFlight -= m.done!;
        if (this.inFlight < IN_FLIGHT) this.drained?.();
      }
    });
    this.worker.on('error', (e) => {
      for (const w of this.waiting.splice(0)) w.reject(e);
      this.drained?.();
    });
  }

  /**
   * Hash `chunk`; resolves when the thread has room for more. With
   * `handOver` its memory moves to the thread instead of being copied: only
   * for chunks nothing else will read again, and never for slices of Node's
   * shared small-buffer pool.
   */
  async update(chunk: Buffer, handOver = false): Promise<void> {
    const own = handOver && chunk.buffer.byteLength >= 64 * 1024 && chunk.buffer instanceof ArrayBuffer;
    this.inFlight += chunk.length;
    // Copied chunks must not come back: their memory is still someone else's.
    this.worker.postMessage(own ? chunk : Buffer.from(chunk).subarray(0), own ? [chunk.buffer as ArrayBuffer] : []);
    if (this.inFlight >= IN_FLIGHT) {
      await new Promise<void>((resolve) => (this.drained = resolve));
      this.drained = undefined;
    }
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
