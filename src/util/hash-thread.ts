import { MessageChannel, Worker } from 'node:worker_threads';
import { workerOptions } from './worker-options.js';

// The program of every such thread. Each chunk that arrives is written to
// the file descriptor when asked (plain blocking write(2), at an offset for a
// patch; nothing more after a failed write), then added to the sha256 when
// asked: here, or passed on to the next thread (a port to it) to be hashed
// there while this one writes the next chunk. Its memory then goes back.
// Each thread answers the digests of what it hashed, in order; the writing
// one answers ends.
const PROGRAM = `
const { parentPort } = require('node:worker_threads');
const { writeSync } = require('node:fs');
const { createHash } = require('node:crypto');
let hash = createHash('sha256');
let fd;
let next;
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
const take = (m) => {
  if (m === 'digest next') return next.postMessage('digest');
  if (m === 'digest') {
    parentPort.postMessage({ hex: hash.digest('hex') });
    hash = createHash('sha256');
    return;
  }
  if (m === 'end') return parentPort.postMessage({ ended: true });
  // The descriptor and the next thread come first: a thread may be started before either exists.
  if (m.fd !== undefined) { fd = m.fd; return; }
  if (m.next) { next = m.next; return; }
  if (m.from) { m.from.on('message', take); return; }
  if (m.write && !failed) {
    try {
      put(m.bytes, m.at);
    } catch (e) {
      failed = true;
      // Answered in order, before any later end.
      parentPort.postMessage({ failed: { code: e.code, message: e.message } });
    }
  }
  if (m.hash === 'next') return next.postMessage({ hash: true, bytes: m.bytes }, [m.bytes.buffer]);
  if (m.hash) hash.update(m.bytes);
  // The memory goes back, to be filled again: it arrived as this thread's own
  // (handed over, or a copy), whole even when the chunk was a part of it.
  parentPort.postMessage({ done: m.bytes.length, back: m.bytes.buffer }, [m.bytes.buffer]);
};
parentPort.on('message', take);`;

/** Threads started ahead of their HashThread, and a failure before they were taken. */
interface Started {
  writer: Worker;
  hasher?: Worker;
  error?: Error;
}

let started: Started | undefined;

/**
 * Start the threads of the next HashThread given a target now, while the
 * process has a core to spare (a thread takes about 0.1 s of CPU to start):
 * they are ready when the first chunk comes. With `hashing`, a second thread
 * too, hashing what the first has written. They hold the process only once taken.
 */
export function startWritingThread(hashing = false): void {
  if (started) return;
  const threads: Started = { writer: newThread() };
  if (hashing) threads.hasher = chained(threads.writer);
  for (const worker of [threads.writer, threads.hasher]) {
    worker?.unref();
    worker?.on('error', (e) => (threads.error ??= e));
  }
  started = threads;
}

const newThread = (): Worker => new Worker(PROGRAM, { ...workerOptions(), eval: true });

/** A new thread hashing the chunks `writer` is asked to hash, once written. */
function chained(writer: Worker): Worker {
  const hasher = newThread();
  const { port1, port2 } = new MessageChannel();
  writer.postMessage({ next: port1 }, [port1]);
  hasher.postMessage({ from: port2 }, [port2]);
  return hasher;
}

/** The started threads, or a new writing thread. */
function writingThreads(): Started {
  const threads = started ?? { writer: newThread() };
  started = undefined;
  return threads;
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
 * those asked to be hashed then hashed on a third thread, while the writing
 * thread writes the next: reading, writing and hashing go on at once.
 * Chunks are written and hashed in the order given; a failed write is raised
 * by the next call (and `finish`).
 */
export class HashThread {
  private readonly worker: Worker;
  // With a target, the thread hashing what the writing thread has written: started by the first chunk to hash, if not before.
  private hasher: Worker | undefined;
  // Digests asked of each thread (answered by the one that hashed) and ends (by the one that writes), each in the order asked.
  private readonly digests = new Map<Worker, Waiting[]>();
  private readonly ends: Waiting[] = [];
  private inFlight = 0;
  private drained: (() => void) | undefined;
  private failure: Error | undefined;

  /** `recycle` receives the memory of chunks once written and hashed. */
  constructor(
    private readonly recycle?: (memory: ArrayBuffer) => void,
    private readonly target?: WriteTarget,
  ) {
    if (target) {
      const { writer, hasher, error } = writingThreads();
      this.worker = writer;
      writer.postMessage({ fd: target.fd });
      for (const worker of [writer, hasher]) worker?.removeAllListeners('error');
      if (hasher) this.listen((this.hasher = hasher));
      if (error) this.fail(error);
    } else this.worker = newThread();
    this.listen(this.worker);
  }

  /**
   * Hash `chunk`; resolves when the thread has room for more. With
   * `handOver` its memory moves to the thread instead of being copied: only
   * for chunks nothing else will read again.
   */
  update(chunk: Buffer, handOver = false): Promise<void> {
    return this.send(chunk, handOver, { hash: true });
  }

  /**
   * Write `chunk` to the target, and with `hash` add it to the digest: on
   * the writing thread (`here`), or on the next one (`next`), once written;
   * `handOver` as for update.
   */
  write(chunk: Buffer, handOver: boolean, hash?: 'here' | 'next'): Promise<void> {
    if (hash === 'next' && !this.hasher) this.listen((this.hasher = chained(this.worker)));
    return this.send(chunk, handOver, { write: true, hash });
  }

  /** Write `bytes` at `offset` of the target (pwrite), after everything sent before. */
  patch(offset: number, bytes: Buffer): Promise<void> {
    return this.send(bytes, false, { write: true, at: offset });
  }

  /** The hex digest of everything hashed since the previous digest (on the next thread, with `next`). */
  async digest(next = false): Promise<string> {
    const by = next ? this.hasher! : this.worker;
    return (await this.ask(next ? 'digest next' : 'digest', this.asked(by)))!;
  }

  /** Resolves once everything sent is written (and, without a target, hashed); rejects with a failed write. */
  async finish(): Promise<void> {
    await this.ask('end', this.ends);
  }

  close(): void {
    void this.worker.terminate();
    void this.hasher?.terminate();
  }

  private listen(worker: Worker): void {
    worker.unref();
    worker.on('message', (m: { hex?: string; ended?: boolean; done?: number; back?: ArrayBuffer; failed?: NodeJS.ErrnoException }) => {
      if (m.failed) {
        const e = Object.assign(new Error(m.failed.message), { code: m.failed.code });
        this.fail(this.target ? this.target.fail(e) : e);
      } else if (m.hex !== undefined || m.ended) {
        const w = (m.ended ? this.ends : this.asked(worker)).shift();
        if (this.failure) w?.reject(this.failure);
        else w?.resolve(m.hex);
      } else {
        if (m.back) this.recycle?.(m.back);
        this.inFlight -= m.done!;
        if (this.inFlight < IN_FLIGHT) this.drained?.();
      }
      this.hold();
    });
    worker.on('error', (e) => this.fail(e));
  }

  private asked(worker: Worker): Waiting[] {
    return this.digests.get(worker) ?? this.digests.set(worker, []).get(worker)!;
  }

  private async send(chunk: Buffer, handOver: boolean, what: { write?: boolean; hash?: boolean | 'here' | 'next'; at?: number }): Promise<void> {
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

  private ask(what: 'digest' | 'digest next' | 'end', queue: Waiting[]): Promise<string | undefined> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      queue.push({ resolve, reject });
      this.worker.postMessage(what);
      this.hold();
    });
  }

  private fail(e: Error): void {
    this.failure ??= e;
    for (const w of [...[...this.digests.values()].flatMap((q) => q.splice(0)), ...this.ends.splice(0)]) w.reject(this.failure);
    this.drained?.();
    this.hold();
  }

  // The threads keep the process alive only while they owe an answer or hold unwritten bytes.
  private hold(): void {
    const busy = [...this.digests.values()].some((q) => q.length > 0) || this.ends.length > 0 || (this.inFlight > 0 && !this.failure);
    for (const worker of [this.worker, this.hasher]) {
      if (busy) worker?.ref();
      else worker?.unref();
    }
  }
}

/** A caller waiting for an answer. */
interface Waiting {
  resolve(answer: string | undefined): void;
  reject(e: Error): void;
}
