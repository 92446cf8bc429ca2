import { availableParallelism } from 'node:os';
import { Transform, type TransformCallback } from 'node:stream';
import { Worker } from 'node:worker_threads';
import { StrataError } from '../errors.js';
import type { BlockJob, BlockResult } from './block-worker.js';
import type { FrameMessage, FrameResult } from './zstd-worker.js';
import { ownChunk, returnable } from '../util/streams.js';
import { CHUNK, newChunk, recycleChunk } from '../tar/chunked-tar.js';
import { workerOptions } from '../util/worker-options.js';

/**
 * Compression on every core that gives the same bytes on any machine: the
 * output depends on the level and block size only, never on the number of
 * threads or on how the input arrives.
 *
 * gzip: the input is cut into blocks, each made a gzip member of its own by
 * a pool of threads (libdeflate, see block-worker.ts), and the members joined
 * in order. zstd: zstd's own threads, whose jobs are cut
 * at fixed sizes (a multi-threaded frame is the same for any number of
 * workers from 1 up; single-threaded mode, 0, makes other bytes).
 */
export interface BlockCompression {
  kind: 'gzip' | 'zstd';
  level: number;
  /** Bytes per block (gzip) or job (zstd); part of the output's identity, like the level (default DEFAULT_BLOCK_SIZE). */
  blockSize?: number;
}

const DEFAULT_BLOCK_SIZE = { gzip: 1 << 20, zstd: 4 << 20 } as const;
/** zstd's job size by default: an input shorter than this is a frame of one job. */
export const ZSTD_JOB = DEFAULT_BLOCK_SIZE.zstd;

// zstd's smallest job (ZSTDMT_JOBSIZE_MIN): it would round a smaller one up.
const ZSTD_MIN_JOB = 512 * 1024;


/**
 * A compressing stream whose output depends on the options alone, run on
 * `threads` (by default one pool of a thread per core shared by every
 * stream, so several blobs compress at once; zstd takes as many workers).
 */
export function blockCompressor(options: BlockCompression, threads: CompressionThreads = sharedThreads()): Transform {
  const { kind, level, blockSize = DEFAULT_BLOCK_SIZE[kind] } = options;
  if (kind === 'gzip') {
    if (!(Number.isInteger(level) && level >= 0 && level <= 9)) throw new StrataError(`--compression-level ${level}: gzip takes 0 to 9`);
    if (!(Number.isInteger(blockSize) && blockSize >= 64 * 1024)) throw new StrataError(`block size ${blockSize}: gzip takes at least 65536 bytes`);
    return new GzipBlocks(threads, level, blockSize);
  }
  if (!(Number.isInteger(level) && level >= 1 && level <= 19)) throw new StrataError(`--compression-level ${level}: zstd takes 1 to 19`);
  if (!(Number.isInteger(blockSize) && blockSize >= ZSTD_MIN_JOB)) throw new StrataError(`block size ${blockSize}: zstd takes at least ${ZSTD_MIN_JOB} bytes`);
  return new ZstdFrame(threads.size, level, blockSize);
}

/**
 * A zstd frame as blockCompressor makes it, whose input and output are also
 * hashed (sha256) on the zstd thread, which sees every byte of both in
 * order: the main thread, which reads, passes bytes and sends, does not.
 * `digests()` gives them (hex) once the stream has ended.
 */
export function hashingZstd(level: number): Transform & { digests(): { input: string; output: string } } {
  const frame = blockCompressor({ kind: 'zstd', level }) as ZstdFrame;
  frame.hashing = true;
  return frame;
}

/** Output rooms the zstd thread is given to fill again, at most. */
const ROOMS = 8;

/** Input of a zstd frame at its thread before the stream waits for it. */
const ZSTD_AHEAD = 4 << 20;

/**
 * The one thread that makes every zstd frame (see zstd-worker.ts), started
 * when a frame needs it; it keeps the process alive only while frames are
 * at it. A thread that fails fails its frames, and the next starts another.
 */
class FrameThread {
  private static current: FrameThread | undefined;
  private static nextId = 0;

  /** Start the thread ahead of the first frame (a thread takes about 0.1 s of CPU to start), not holding the process. */
  static prepare(): void {
    FrameThread.current ??= new FrameThread();
    if (FrameThread.current.frames.size === 0) FrameThread.current.worker.unref();
  }

  static frame(to: ZstdFrame): { id: number; thread: FrameThread } {
    const thread = (FrameThread.current ??= new FrameThread());
    const id = FrameThread.nextId++;
    thread.frames.set(id, to);
    thread.worker.ref();
    return { id, thread };
  }

  private readonly worker = new Worker(new URL('./zstd-worker.js', import.meta.url), workerOptions());
  private readonly frames = new Map<number, ZstdFrame>();

  private constructor() {
    this.worker.on('message', (r: FrameResult) => this.frames.get(r.id)?.onResult(r));
    this.worker.on('error', (e) => {
      if (FrameThread.current === this) FrameThread.current = undefined;
      for (const f of this.frames.values()) f.fail(e);
      this.frames.clear();
    });
  }

  /** Memory of the frames' outputs, once sent, going back with the next message. */
  private static rooms: ArrayBuffer[] = [];
  /** Rooms sent and not yet back in an output: about what the thread holds. */
  private static lent = 0;

  /** Whether the memory was kept: a few rooms, here and at the thread, are enough. */
  static giveRoom(memory: ArrayBuffer): boolean {
    if (FrameThread.rooms.length + FrameThread.lent >= ROOMS) return false;
    FrameThread.rooms.push(memory);
    return true;
  }

  /** An output came in a room. */
  static roomUsed(): void {
    FrameThread.lent = Math.max(0, FrameThread.lent - 1);
  }

  post(m: FrameMessage, transfer: ArrayBuffer[] = []): void {
    const rooms = FrameThread.rooms.splice(0);
    FrameThread.lent += rooms.length;
    this.worker.postMessage(rooms.length > 0 ? { ...m, rooms } : m, [...transfer, ...rooms]);
  }

  /** The frame is over (ended, failed or cut short): its results, if any still come, go nowhere. */
  release(id: number): void {
    this.frames.delete(id);
    if (this.frames.size === 0) this.worker.unref();
  }
}

/**
 * One zstd frame, made by zstd's worker threads in jobs of a fixed size,
 * driven from the frame thread; the main thread only passes bytes. Its
 * first bytes are held until they show whether the frame is shorter than a
 * job: such a frame is made by a context of one worker (a frame of one job
 * is the same bytes whatever the workers), kept apart from those of longer
 * frames, so that it holds the few MB a job needs, not the ~30 MB of a
 * context that made a long frame.
 */
class ZstdFrame extends Transform {
  private readonly id: number;
  private readonly thread: FrameThread;
  private held: Uint8Array[] | undefined = [];
  private heldBytes = 0;
  private ahead = 0;
  private waiting: TransformCallback | undefined;
  private ended: TransformCallback | undefined;
  private failed: Error | undefined;
  private over = false;
  /** Whether the zstd thread hashes the input and output (set before the first byte), and their digests once the frame has ended. */
  hashing = false;
  private hashed: { input: string; output: string } | undefined;

  constructor(private readonly workers: number, private readonly level: number, private readonly jobSize: number) {
    super();
    ({ id: this.id, thread: this.thread } = FrameThread.frame(this));
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    if (this.failed) return done(this.failed);
    // Fresh reads are handed over; other chunks may be read again by their producer: copied.
    const data = ownChunk(chunk) ? chunk : Uint8Array.prototype.slice.call(chunk);
    if (this.held) {
      this.held.push(data);
      this.heldBytes += data.length;
      if (this.heldBytes < this.jobSize) return done();
      this.start(this.workers, false);
    } else this.send(data);
    if (this.ahead < ZSTD_AHEAD) done();
    else this.waiting = done;
  }

  private start(workers: number, oneJob: boolean): void {
    this.thread.post({ id: this.id, start: { workers, level: this.level, jobSize: this.jobSize, oneJob, hash: this.hashing } });
    for (const data of this.held!) this.send(data);
    this.held = undefined;
  }

  private send(data: Uint8Array): void {
    this.ahead += data.length;
    this.thread.post({ id: this.id, data }, [data.buffer as ArrayBuffer]);
  }

  override _flush(done: TransformCallback): void {
    if (this.failed) return done(this.failed);
    if (this.held) this.start(1, true);
    this.ended = done;
    this.thread.post({ id: this.id, end: true });
  }

  override _destroy(error: Error | null, done: (error: Error | null) => void): void {
    // A frame cut short: its context is dropped, not reset for the next (see zstd-worker.ts).
    if (!this.over) {
      if (!this.held) this.thread.post({ id: this.id, abort: true });
      this.finish();
    }
    done(error);
  }

  onResult(r: FrameResult): void {
    if ('out' in r) {
      const out = Buffer.from(r.out.buffer, r.out.byteOffset, r.out.length);
      if (r.room) FrameThread.roomUsed();
      this.push(r.room ? returnable(out, FrameThread.giveRoom) : out);
    } else if ('taken' in r) {
      // A file read's chunk is filled again rather than left as garbage: as the thread's output room when it lacks
      // rooms (outputs handed on to a writing thread do not come back to it), else as a chunk to read into.
      if (!(r.taken.byteLength === CHUNK && FrameThread.giveRoom(r.taken))) recycleChunk(r.taken);
      this.ahead -= r.length;
      const resume = this.waiting;
      if (resume && this.ahead < ZSTD_AHEAD) {
        this.waiting = undefined;
        resume();
      }
    } else if ('ended' in r) {
      this.hashed = r.digests;
      this.finish();
      this.ended?.();
    } else this.fail(new StrataError(`zstd compression failed: ${r.error}`));
  }

  digests(): { input: string; output: string } {
    if (this.hashed === undefined) throw new Error('the digests of a zstd frame were asked for before the frame ended, or without hashing');
    return this.hashed;
  }

  fail(e: Error): void {
    this.finish();
    this.failed = e;
    const callback = this.waiting ?? this.ended;
    this.waiting = this.ended = undefined;
    if (callback) callback(e);
    else this.destroy(e);
  }

  private finish(): void {
    this.over = true;
    this.thread.release(this.id);
  }
}

/** gzip of fixed-size blocks, each made a gzip member on the threads, joined in order. */
class GzipBlocks extends Transform {
  private block: Buffer | undefined;
  private pos = 0;
  private submitted = false;
  // Submitted blocks, oldest first; `done` once the result is in.
  private readonly queue: { result: Promise<Uint8Array>; done: boolean }[] = [];
  // Blocks at the threads or not yet passed on: what bounds the stream's memory.
  private readonly inFlight: number;

  constructor(private readonly threads: CompressionThreads, private readonly level: number, private readonly blockSize: number) {
    super();
    this.inFlight = threads.size + 1;
  }

  // Blocks of a chunk's size come from the chunks given back (file reads', and blocks the threads are done with).
  private newBlock(): Buffer {
    return this.blockSize === CHUNK ? newChunk() : Buffer.allocUnsafe(this.blockSize);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.fill(chunk).then(() => done(), done);
  }

  override _flush(done: TransformCallback): void {
    this.finish().then(() => done(), done);
  }

  private async fill(chunk: Buffer): Promise<void> {
    // A whole block that owns its memory (a file read's chunk) goes to the thread as it is, uncopied.
    if (this.pos === 0 && chunk.length === this.blockSize && ownChunk(chunk)) {
      const spare = this.block;
      this.block = chunk;
      this.pos = chunk.length;
      await this.submit(spare);
      return;
    }
    for (let from = 0; from < chunk.length; ) {
      this.block ??= this.newBlock();
      const n = chunk.copy(this.block, this.pos, from);
      from += n;
      this.pos += n;
      if (this.pos === this.blockSize) await this.submit();
    }
  }

  private async finish(): Promise<void> {
    // The rest of the input is the last member; no input at all, one empty member (a gzip file holds at least one).
    if (this.pos > 0 || !this.submitted) await this.submit();
    while (this.queue.length > 0) this.pushResult(await this.queue.shift()!.result);
  }

  /** Send the block to the threads; `spare`, an unused block's memory, is filled next. */
  private async submit(spare?: Buffer): Promise<void> {
    this.submitted = true;
    const data = (this.block ??= this.newBlock()).subarray(0, this.pos);
    const entry: { result: Promise<Uint8Array>; done: boolean } = { result: Promise.resolve(new Uint8Array()), done: false };
    entry.result = this.threads.run({ level: this.level, data }).then(({ out, input }) => {
      recycleChunk(input);
      entry.done = true;
      return out;
    });
    // A failure is reported where the result is awaited.
    entry.result.catch(() => {});
    this.queue.push(entry);
    this.block = spare;
    this.pos = 0;
    while (this.queue.length > 0 && (this.queue[0]!.done || this.queue.length >= this.inFlight)) this.pushResult(await this.queue.shift()!.result);
  }

  private pushResult(out: Uint8Array): void {
    this.push(Buffer.from(out.buffer, out.byteOffset, out.length));
  }
}

// ---------------------------------------------------------------------------

type Pending = { job: BlockJob; resolve: (r: { out: Uint8Array; input: ArrayBuffer }) => void; reject: (e: Error) => void };

/** Threads that compress blocks, started as needed; idle ones do not keep the process alive. `size` is also zstd's worker count. */
export class CompressionThreads {
  constructor(readonly size = availableParallelism()) {}

  private readonly workers: Worker[] = [];
  private readonly idle: Worker[] = [];
  private readonly running = new Map<Worker, Pending>();
  private readonly queue: Pending[] = [];
  private next = 0;

  run(job: Omit<BlockJob, 'id'>): Promise<{ out: Uint8Array; input: ArrayBuffer }> {
    return new Promise((resolve, reject) => {
      this.queue.push({ job: { ...job, id: this.next++ }, resolve, reject });
      this.dispatch();
    });
  }

  private dispatch(): void {
    while (this.queue.length > 0) {
      const worker = this.idle.pop() ?? (this.workers.length < this.size ? this.spawn() : undefined);
      if (!worker) return;
      const pending = this.queue.shift()!;
      this.running.set(worker, pending);
      // Busy threads keep the process alive until their block is back; idle ones do not.
      worker.ref();
      // A block owns its memory (see GzipBlocks.submit): handed over, not copied.
      worker.postMessage(pending.job, [pending.job.data.buffer as ArrayBuffer]);
    }
  }

  /** Start every thread now (idle, not keeping the process alive), so that each is ready when the first blocks come. */
  start(): void {
    while (this.workers.length < this.size) {
      const worker = this.spawn();
      worker.unref();
      this.idle.push(worker);
    }
  }

  private spawn(): Worker {
    const worker = new Worker(new URL('./block-worker.js', import.meta.url), workerOptions());
    this.workers.push(worker);
    worker.on('message', (r: BlockResult) => {
      const pending = this.running.get(worker)!;
      this.running.delete(worker);
      this.idle.push(worker);
      worker.unref();
      if ('error' in r) pending.reject(new StrataError(`gzip compression failed: ${r.error}`));
      else pending.resolve(r);
      this.dispatch();
    });
    worker.on('error', (e) => {
      this.running.get(worker)?.reject(e);
      this.running.delete(worker);
      const at = this.workers.indexOf(worker);
      if (at >= 0) this.workers.splice(at, 1);
    });
    return worker;
  }

  /** Stop the threads (blocks still queued fail). */
  async close(): Promise<void> {
    for (const p of this.queue.splice(0)) p.reject(new StrataError('compression threads closed'));
    await Promise.all(this.workers.splice(0).map((w) => w.terminate()));
  }
}

/** Get ready to make zstd frames: the thread that makes them is started now, while the caller waits on other things. */
export function prepareZstd(): void {
  FrameThread.prepare();
}

let shared: CompressionThreads | undefined;
const sharedThreads = (): CompressionThreads => (shared ??= new CompressionThreads());

/** Start the shared gzip threads ahead of their first block: their start-up overlaps the caller's other work. */
export const startGzipThreads = (): void => sharedThreads().start();
