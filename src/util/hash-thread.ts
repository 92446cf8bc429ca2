import { Worker } from 'node:worker_threads';
import { workerOptions } from './worker-options.js';

// The thread's whole program. Each chunk that arrives is written to the
// file descriptor when asked (plain blocking write(2), at an offset for a
// patch; nothing more after a failed write) and added to the sha256 when
// asked, then its memory goes back; digests and end markers are answered in order.
const PROGRAM = `
const { parentPort } = require('node:worker_threads');
const { writeSync } = require('node:fs');
const { createHash } = require('node:crypto');
let hash = createHash('sha256');
let fd;
let failed = false;
const pause = new Int32Array(new SharedArrayBuffer(4));
const put = (bytes, at) => {
  for (let done = 0; done < bytes.length; ) {
    try {
      done += writeSync(fd, bytes, done, bytes.length - done, at === undefined ? null : at + done);
    } catch (e) {
      // Made non-blocking by another holder of the same pipe: wait for room.
      if (e.code !== 'EAGAIN') throw e;
      Atomics.wait(pause, 0, 0, 1);
    }
  }
};
parentPort.on('message', (m) => {
  if (m === 'digest') { parentPort.postMessage({ hex: hash.digest('hex') }); hash = createHash('sha256'); return; }
  if (m === 'end') { parentPort.postMessage({ ended: true }); return; }
  // The descriptor comes first: the thread may be started before it is opened.
  if (m.fd !== undefined) { fd = m.fd; return; }
  if (m.write && !failed) {
    try {
      put(m.bytes, m.at);
    } catch (e) {
      failed = true;
      // Answered in order, before any later end.
      parentPort.postMessage({ failed: { code: e.code, message: e.message } });
    }
  }
  if (m.hash) hash.update(m.bytes);
  // The memory goes back, to be filled again: it arrived as this thread's own
  // (handed over, or a copy), whole even when the chunk was a part of it.
  parentPort.postMessage({ done: m.bytes.length, back: m.bytes.buffer }, [m.bytes.buffer]);
});`;

/** A writing thread started ahead of its HashThread, and a failure before it was taken. */
interface Started {
  worker: Worker;
  error?: Error;
}

let started: Started | undefined;

/**
 * Start the thread of the next HashThread given a target now, while the
 * process has a core to spare (a thread takes about 0.1 s of CPU to start):
 * it is ready when the first chunk comes. It holds the process only once taken.
 */
export function startWritingThread(): void {
  if (started) return;
  const worker = newThread();
  const thread: Started = { worker };
  worker.unref();
  worker.on('error', (e) => (thread.error ??= e));
  started = thread;
}

const newThread = (): Worker => new Worker(PROGRAM, { ...workerOptions(), eval: true });

/** The started thread, or a new one. */
function writingThread(): Started {
  const thread = started ?? { worker: newThread() };
  started = undefined;
  return thread;
}

/** Bytes sent and not yet written or hashed before a call makes its caller wait: memory stays bounded. */
const IN_FLIGHT = 4 << 20;

/** What a HashThread writes to, and how it reports a failed write. */
interface WriteTarget {
  fd: number;
  /** The error to raise for a failed write(2). */
  fail(e: NodeJS.ErrnoException): Error;
}

/**
 * SHA-256 computed on another thread, so a stream can be read and hashed on
 * two cores at once; or, with a `target`, chunks written there with blocking
 * write(2) calls, so the main thread never waits on a pipe's reader, and
 * hashed there too when asked (FdSink has the thread with less else to do
 * hash: see hashSide). Chunks are written and hashed in the order given; a
 * failed write is raised by the next call (and `finish`).
 */
export class HashThread {
  private readonly worker: Worker;
  // Digests and ends are answered in the order they were asked for.
  private readonly waiting: { resolve: (answer: string | undefined) => void; reject: (e: Error) => void }[] = [];
  private inFlight = 0;
  private drained: (() => void) | undefined;
  private failure: Error | undefined;

  /** `recycle` receives the memory of chunks once written and hashed. */
  constructor(
    private readonly recycle?: (memory: ArrayBuffer) => void,
    target?: WriteTarget,
  ) {
    if (target) {
      const { worker, error } = writingThread();
      this.worker = worker;
      worker.postMessage({ fd: target.fd });
      worker.removeAllListeners('error');
      if (error) this.fail(error);
    } else this.worker = newThread();
    this.worker.unref();
    this.worker.on('message', (m: { hex?: string; ended?: boolean; done?: number; back?: ArrayBuffer; failed?: NodeJS.ErrnoException }) => {
      if (m.failed) {
        const e = Object.assign(new Error(m.failed.message), { code: m.failed.code });
        this.fail(target ? target.fail(e) : e);
      } else if (m.hex !== undefined || m.ended) {
        const w = this.waiting.shift();
        if (this.failure) w?.reject(this.failure);
        else w?.resolve(m.hex);
      } else {
        if (m.back) this.recycle?.(m.back);
        this.inFlight -= m.done!;
        if (this.inFlight < IN_FLIGHT) this.drained?.();
      }
      this.hold();
    });
    this.worker.on('error', (e) => this.fail(e));
  }

  /**
   * Hash `chunk`; resolves when the thread has room for more. With
   * `handOver` its memory moves to the thread instead of being copied: only
   * for chunks nothing else will read again.
   */
  update(chunk: Buffer, handOver = false): Promise<void> {
    return this.send(chunk, handOver, { hash: true });
  }

  /** Write `chunk` to the target (at `at`, or where the last write ended), and with `hash` add it to the digest; `handOver` as for update. */
  write(chunk: Buffer, handOver: boolean, hash = false, at?: number): Promise<void> {
    return this.send(chunk, handOver, { write: true, hash, ...(at === undefined ? {} : { at }) });
  }

  /** Write `bytes` at `offset` of the target (pwrite), after everything sent before. */
  patch(offset: number, bytes: Buffer): Promise<void> {
    return this.send(bytes, false, { write: true, at: offset });
  }

  /** The hex digest of everything hashed since the previous digest. */
  async digest(): Promise<string> {
    return (await this.ask('digest'))!;
  }

  /** Resolves once everything sent is written and hashed; rejects with a failed write. */
  async finish(): Promise<void> {
    await this.ask('end');
  }

  close(): void {
    void this.worker.terminate();
  }

  private async send(chunk: Buffer, handOver: boolean, what: { write?: boolean; hash?: boolean; at?: number }): Promise<void> {
    if (this.failure) throw this.failure;
    // Memory is moved only when the chunk owns it alone (never a slice of Node's shared small-buffer pool); else an exact copy moves.
    const own = handOver && chunk.buffer instanceof ArrayBuffer && chunk.buffer.byteLength >= 64 * 1024;
    const bytes = own ? chunk : new Uint8Array(chunk.buffer.slice(chunk.byteOffset, chunk.byteOffset + chunk.length) as ArrayBuffer);
    this.inFlight += chunk.length;
    this.worker.postMessage({ ...what, bytes }, [bytes.buffer as ArrayBuffer]);
    this.hold();
    if (this.inFlight >= IN_FLIGHT) {
      await new Promise<void>((resolve) => (this.drained = resolve));
      this.drained = undefined;
      if (this.failure) throw this.failure;
    }
  }

  private ask(what: 'digest' | 'end'): Promise<string | undefined> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.worker.postMessage(what);
      this.hold();
    });
  }

  private fail(e: Error): void {
    this.failure ??= e;
    for (const w of this.waiting.splice(0)) w.reject(this.failure);
    this.drained?.();
    this.hold();
  }

  // The thread keeps the process alive only while it owes an answer or holds unwritten bytes.
  private hold(): void {
    const busy = this.waiting.length > 0 || (this.inFlight > 0 && !this.failure);
    if (busy) this.worker.ref();
    else this.worker.unref();
  }
}
