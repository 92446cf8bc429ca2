import { MessageChannel, Worker } from 'node:worker_threads';
import { workerOptions } from './worker-options.js';

// The threads' whole program. A hashing thread adds each chunk that arrives
// to the sha256 and gives its memory back; digests and end markers are
// answered in order. A writing thread writes each chunk to the file
// descriptor (plain blocking write(2), at an offset for a patch) and passes
// it on to its hashing thread, so the next chunk is written while this one
// is hashed; after a failed write, chunks are only passed on.
const PROGRAM = `
const { parentPort, workerData } = require('node:worker_threads');
const { writeSync } = require('node:fs');
const { next, input } = workerData ?? {};
let fd;
if (next === undefined) {
  const { createHash } = require('node:crypto');
  let hash = createHash('sha256');
  (input ?? parentPort).on('message', (m) => {
    if (m === 'digest') { parentPort.postMessage({ hex: hash.digest('hex') }); hash = createHash('sha256'); return; }
    if (m === 'end') { parentPort.postMessage({ ended: true }); return; }
    // A failed write, passed on by the writing thread: answered in order, before any later end.
    if (m.failed) { parentPort.postMessage(m); return; }
    if (m.hash) hash.update(m.bytes);
    // The memory goes back, to be filled again: it arrived as this thread's own
    // (handed over, or a copy), whole even when the chunk was a part of it.
    parentPort.postMessage({ done: m.bytes.length, back: m.bytes.buffer }, [m.bytes.buffer]);
  });
} else {
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
    // The descriptor comes first: the thread may be started before it is opened.
    if (typeof m !== 'string' && m.fd !== undefined) { fd = m.fd; return; }
    if (typeof m !== 'string' && m.write && !failed) {
      try {
        put(m.bytes, m.at);
      } catch (e) {
        failed = true;
        next.postMessage({ failed: { code: e.code, message: e.message } });
      }
    }
    next.postMessage(m, typeof m === 'string' ? [] : [m.bytes.buffer]);
  });
}`;

/** A writing and a hashing thread started ahead of their HashThread, and a failure before it took them. */
interface Started {
  writer: Worker;
  hasher: Worker;
  error?: Error;
}

let started: Started | undefined;

/**
 * Start the threads of the next HashThread given a target now, while the
 * process has a core to spare (a thread takes about 0.1 s of CPU to start):
 * they are ready when the first chunk comes. They hold the process only
 * once taken.
 */
export function startWritingThreads(): void {
  if (started) return;
  const options = { ...workerOptions(), eval: true };
  const { port1, port2 } = new MessageChannel();
  const hasher = new Worker(PROGRAM, { ...options, workerData: { input: port2 }, transferList: [port2] });
  const writer = new Worker(PROGRAM, { ...options, workerData: { next: port1 }, transferList: [port1] });
  const pair: Started = { writer, hasher };
  for (const w of [writer, hasher]) {
    w.unref();
    w.on('error', (e) => (pair.error ??= e));
  }
  started = pair;
}

/** The started threads, or new ones. */
function writingThreads(): Started {
  startWritingThreads();
  const pair = started!;
  started = undefined;
  return pair;
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
 * SHA-256 computed on another thread, so a stream can be read, written and
 * hashed on two cores at once; with a `target`, the thread also writes the
 * chunks (before hashing them) with blocking write(2) calls, so the main
 * thread never waits on a pipe's reader. Chunks are written and hashed in
 * the order given; a failed write is raised by the next call (and `finish`).
 */
export class HashThread {
  // The hashing thread, which answers; and the writing thread before it, given a target.
  private readonly worker: Worker;
  private readonly writer: Worker | undefined;
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
      // Writing and hashing on two threads: a write waits on the pipe's reader, and the hashing goes on meanwhile.
      const { writer, hasher, error } = writingThreads();
      this.worker = hasher;
      this.writer = writer;
      writer.postMessage({ fd: target.fd });
      writer.removeAllListeners('error');
      hasher.removeAllListeners('error');
      if (error) this.fail(error);
      this.writer.on('error', (e) => this.fail(e));
    } else this.worker = new Worker(PROGRAM, { ...workerOptions(), eval: true });
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

  /** Write `chunk` to the target (and with `hash`, hash it); `handOver` as for update. */
  write(chunk: Buffer, hash: boolean, handOver: boolean): Promise<void> {
    return this.send(chunk, handOver, { write: true, hash });
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
    void this.writer?.terminate();
    void this.worker.terminate();
  }

  private async send(chunk: Buffer, handOver: boolean, what: { write?: boolean; hash?: boolean; at?: number }): Promise<void> {
    if (this.failure) throw this.failure;
    // Memory is moved only when the chunk owns it alone (never a slice of Node's shared small-buffer pool); else an exact copy moves.
    const own = handOver && chunk.buffer instanceof ArrayBuffer && chunk.buffer.byteLength >= 64 * 1024;
    const bytes = own ? chunk : new Uint8Array(chunk.buffer.slice(chunk.byteOffset, chunk.byteOffset + chunk.length) as ArrayBuffer);
    this.inFlight += chunk.length;
    (this.writer ?? this.worker).postMessage({ ...what, bytes }, [bytes.buffer as ArrayBuffer]);
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
      (this.writer ?? this.worker).postMessage(what);
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
    for (const w of [this.worker, this.writer]) {
      if (busy) w?.ref();
      else w?.unref();
    }
  }
}
