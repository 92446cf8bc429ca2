import { createHash } from 'node:crypto';
import { closeSync, fstatSync, openSync, readFileSync, statSync, writeSync } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Writable } from 'node:stream';
import { isTerminal } from './util/terminal.js';
import { ExitCode, StrataError, fileError } from './errors.js';
import { removeOnExit } from './scratch.js';
import { recycleChunk } from './tar/chunked-tar.js';
import { HashThread } from './util/hash-thread.js';

/** Where an image's bytes go; a reader that went away becomes a BrokenPipe error. */
export interface ByteSink {
  /** Bytes written so far. */
  readonly bytes: number;
  /** True once the sink holds no reference to what was written (the chunks may be reused). */
  readonly flushed: boolean;
  write(chunk: Buffer): Promise<void>;
  /**
   * Overwrite bytes written before, at `offset` (pwrite): only regular files
   * have it, so a header can be written after the content it describes.
   */
  patch?(offset: number, bytes: Buffer): Promise<void>;
  /**
   * Offered by sinks that write on another thread: write `chunk`, handing
   * its memory over (the caller never touches it again; it comes back to
   * recycleChunk), and with `hash` add it to what `digest` hashes, on the
   * calling thread or the writing one (hashSide chooses; one side per digest).
   */
  handOver?(chunk: Buffer, hash?: HashSide): Promise<void>;
  /** With handOver: the thread that should hash a tar of `files` files and `size` bytes read from disk. */
  hashSide?(tar: { size: number; files: number }): HashSide;
  /** The hex sha256 of the chunks handed over with `hash` since the previous digest. */
  digest?(): Promise<string>;
  end(): Promise<void>;
}

/**
 * How a sink writing on its own thread splits what it is handed: hashed on
 * the calling thread or on the writing one, which writes it either way; or,
 * to a regular file (whose writes never wait on a reader), written by the
 * caller and hashed by the thread ('hasher').
 */
type HashSide = 'caller' | 'writer' | 'hasher';

// Costs in ms, from per-thread profiles of the 378 MB closure's stream (the
// main thread's sha256 0.26 s, read(2) 0.15 s, open, fstat and close 0.15 s
// over 7.7k files with their headers; the writing thread's write(2) to a pipe
// 0.18 s, its reader's pace) and of writes to a file: the calling thread's per
// file and per MiB read, the writing thread's per MiB to a pipe and to a file.
const COST = { file: 0.026, read: 0.42, pipe: 0.5, toFile: 0.2, hash: 0.72 };

/**
 * How to split a tar of `files` files and `size` bytes read from disk so
 * that the busier thread has least to do: the caller spends its time per file
 * (small files), the writing thread per byte (big files, and more of it on a
 * pipe); a file's big files are best written by the caller and hashed by the thread.
 */
function hashSide({ size, files }: { size: number; files: number }, toFile: boolean): HashSide {
  const mib = size / (1 << 20);
  const caller = files * COST.file + mib * COST.read;
  const writer = mib * (toFile ? COST.toFile : COST.pipe);
  const hash = mib * COST.hash;
  const busiest: [HashSide, number][] = [
    ['caller', Math.max(caller + hash, writer)],
    ['writer', Math.max(caller, writer + hash)],
    ...(toFile ? [['hasher', Math.max(caller + writer, hash)] as [HashSide, number]] : []),
  ];
  return busiest.reduce((best, option) => (option[1] < best[1] ? option : best))[0];
}

/**
 * Write `chunk`; when the stream asks to wait, wait until it drains (or
 * errs, or closes: the caller's own error handler tells which).
 */
export async function writeDrained(stream: Writable, chunk: Buffer): Promise<void> {
  if (stream.write(chunk)) return;
  await new Promise<void>((resolve) => {
    const done = (): void => {
      stream.off('drain', done);
      stream.off('error', done);
      stream.off('close', done);
      resolve();
    };
    stream.on('drain', done);
    stream.on('error', done);
    stream.on('close', done);
  });
}

/** A Writable, with backpressure. */
class StreamSink implements ByteSink {
  private failure: Error | undefined;
  bytes = 0;

  constructor(private readonly stream: Writable) {
    stream.on('error', (e: NodeJS.ErrnoException) => {
      this.failure = e.code === 'EPIPE' ? new StrataError('output closed by its reader', ExitCode.BrokenPipe) : e;
    });
  }

  /** True once the stream holds no more of what was written (it was written through). */
  get flushed(): boolean {
    return this.stream.writableLength === 0;
  }

  async write(chunk: Buffer): Promise<void> {
    if (this.failure) throw this.failure;
    this.bytes += chunk.length;
    await writeDrained(this.stream, chunk);
    if (this.failure) throw this.failure;
  }

  async end(): Promise<void> {
    if (this.failure) throw this.failure;
    await new Promise<void>((resolve, reject) => {
      this.stream.end(() => (this.failure ? reject(this.failure) : resolve()));
    });
  }
}

/**
 * A file, a pipe or a device written with plain blocking write(2) calls on
 * a thread of its own, so reading the next bytes goes on while a chunk is
 * written (and the pipe's reader catches up); handed-over chunks can be
 * hashed there too, right after they are written.
 */
class FdSink implements ByteSink {
  bytes = 0;
  // Written chunks are copies, or handed over.
  readonly flushed = true;
  private readonly thread: HashThread;
  private sum = createHash('sha256');
  // Who hashed the chunks since the previous digest.
  private hashedBy: HashSide = 'caller';
  private closed = false;
  // A regular file takes bytes faster than a pipe, whose reader sets the pace.
  private readonly toFile: boolean;

  /** `owned`: the descriptor is closed at the end. */
  constructor(
    private readonly fd: number,
    private readonly name: string,
    private readonly owned = true,
  ) {
    this.thread = new HashThread(recycleChunk, {
      fd,
      fail: (e) => (e.code === 'EPIPE' ? new StrataError('output closed by its reader', ExitCode.BrokenPipe) : (fileError(name, e) as Error)),
    });
    this.toFile = fstatSync(fd).isFile();
  }

  async write(chunk: Buffer): Promise<void> {
    const at = this.advance(chunk);
    await this.thread.write(chunk, false, false, at);
  }

  hashSide(tar: { size: number; files: number }): HashSide {
    return hashSide(tar, this.toFile);
  }

  async handOver(chunk: Buffer, hash?: HashSide): Promise<void> {
    const at = this.advance(chunk);
    if (hash) this.hashedBy = hash;
    if (hash === 'hasher') {
      // Written here, at its place (the thread may still be writing earlier chunks at theirs), then hashed there.
      this.put(chunk, at!);
      await this.thread.update(chunk, true);
      return;
    }
    // Hashed here while the thread writes the chunks before, or there once written.
    if (hash === 'caller') this.sum.update(chunk);
    await this.thread.write(chunk, true, hash === 'writer', at);
  }

  /** Count `chunk` in; where it goes in a regular file (every write there is positioned: two threads write). */
  private advance(chunk: Buffer): number | undefined {
    const at = this.toFile ? this.bytes : undefined;
    this.bytes += chunk.length;
    return at;
  }

  private put(chunk: Buffer, at: number): void {
    try {
      for (let done = 0; done < chunk.length; ) done += writeSync(this.fd, chunk, done, chunk.length - done, at + done);
    } catch (e) {
      throw fileError(this.name, e);
    }
  }

  async digest(): Promise<string> {
    if (this.hashedBy !== 'caller') return this.thread.digest();
    const hex = this.sum.digest('hex');
    this.sum = createHash('sha256');
    return hex;
  }

  protected pwrite(offset: number, bytes: Buffer): Promise<void> {
    return this.thread.patch(offset, bytes);
  }

  async end(): Promise<void> {
    if (this.closed) return;
    try {
      await this.thread.finish();
    } finally {
      this.close();
    }
  }

  /**
   * After a failure, on a pipe or a device: what was read before it still
   * goes out (as when the main thread wrote it), any error of its own dropped.
   */
  async drop(): Promise<void> {
    await this.end().catch(() => {});
  }

  /** Stop writing, dropping what is not written yet. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.thread.close();
    if (this.owned) closeSync(this.fd);
  }
}

/** A regular file: bytes already written can be overwritten. */
class FileSink extends FdSink {
  async patch(offset: number, bytes: Buffer): Promise<void> {
    if (offset + bytes.length > this.bytes) throw new Error(`patch at ${offset} beyond the ${this.bytes} bytes written`);
    await this.pwrite(offset, bytes);
  }
}

/** An output that appears under its name only once complete. */
interface Output {
  sink: ByteSink;
  /** Make the output final. */
  commit(): Promise<void>;
  /** Drop what was written (no half-written file is left behind). */
  abort(): Promise<void>;
}

/**
 * `-` is standard output; a device or a pipe (`/dev/null`, `/dev/stdout`, a
 * FIFO) is written in place, since renaming over it would replace it; anything
 * else is a file written to a temporary name beside it, renamed when complete,
 * and removed on error, on exit and on SIGINT, SIGTERM and SIGHUP. Every
 * failure is one line naming `target`.
 */
export function openOutput(target: string): Output {
  if (target === '-') {
    if (isTerminal(1)) throw new StrataError('refusing to write an image to a terminal; redirect standard output or use -o FILE');
    const sink = standardOutput();
    if (sink === undefined) {
      const stream = new StreamSink(process.stdout);
      return { sink: stream, commit: async () => {}, abort: async () => {} };
    }
    return { sink, commit: () => sink.end(), abort: () => sink.drop() };
  }
  let st;
  try {
    st = statSync(target, { throwIfNoEntry: false });
  } catch (e) {
    throw fileError(target, e);
  }
  if (st?.isDirectory()) throw new StrataError(`${target}: is a directory; name a file to write`);
  if (st !== undefined && !st.isFile()) {
    const sink = new FdSink(openOrFail(target, target, 'a'), target);
    return { sink, commit: () => sink.end(), abort: () => sink.drop() };
  }
  const temp = scratchFile(join(dirname(target), `.${basename(target)}.strata-${process.pid}.tmp`), target);
  return {
    sink: temp.sink,
    commit: async () => {
      await temp.sink.end();
      try {
        await rename(temp.path, target);
      } catch (e) {
        throw fileError(target, e);
      } finally {
        // Gone once renamed; removed otherwise.
        await temp.remove();
      }
    },
    abort: () => temp.remove(),
  };
}

/**
 * A file at `path` that can be patched: an output's temporary name, or
 * output made whole before it is copied where a patch cannot go (a pipe).
 * `remove` deletes it, as do exit and signals before then. Failures name
 * `shownAs`.
 */
export function scratchFile(path: string, shownAs: string): { sink: ByteSink; path: string; remove(): Promise<void> } {
  // Registered before the file exists, so no signal finds it unregistered.
  const forget = removeOnExit(path);
  let fd: number;
  try {
    fd = openOrFail(path, shownAs, 'w');
  } catch (e) {
    forget();
    throw e;
  }
  const sink = new FileSink(fd, shownAs);
  return {
    sink,
    path,
    remove: async () => {
      // What is not written yet is dropped: the file goes anyway.
      sink.close();
      await rm(path, { force: true });
      forget();
    },
  };
}

// O_NONBLOCK, as /proc/self/fdinfo shows a descriptor's flags (octal).
const NONBLOCK = 0o4000;
const STDOUT = 'standard output';

/**
 * Standard output as a descriptor written with blocking write(2), never
 * through process.stdout (creating it makes a pipe on fd 1 non-blocking for
 * every process sharing it). A pipe that is non-blocking already (whoever
 * created it) is opened again, blocking (a FIFO has a name in /proc); else,
 * and where the flags cannot be read, undefined: a stream is used.
 */
function standardOutput(): FdSink | undefined {
  let flags: number;
  let fifo: boolean;
  try {
    const st = fstatSync(1);
    // A file's offset is shared with whoever opened it, so it is not opened again.
    if (st.isFile()) return new FdSink(1, STDOUT, false);
    fifo = st.isFIFO();
    const info = /^flags:\s*([0-7]+)$/m.exec(readFileSync('/proc/self/fdinfo/1', 'latin1'));
    if (info === null) return undefined;
    flags = parseInt(info[1]!, 8);
  } catch {
    return undefined;
  }
  if ((flags & NONBLOCK) === 0) return new FdSink(1, STDOUT, false);
  if (!fifo) return undefined;
  try {
    return new FdSink(openSync('/proc/self/fd/1', 'w'), STDOUT);
  } catch {
    return undefined;
  }
}

/** Text to standard output (`-` or none), or to a file that appears only once complete. */
export async function writeOutput(text: string, target: string | undefined): Promise<void> {
  if (target === undefined || target === '-') {
    process.stdout.write(text);
    return;
  }
  const out = openOutput(target);
  try {
    await out.sink.write(Buffer.from(text));
    await out.commit();
  } catch (e) {
    await out.abort();
    throw e;
  }
}

function openOrFail(path: string, target: string, flags: string): number {
  try {
    return openSync(path, flags, 0o644);
  } catch (e) {
    throw fileError(target, e);
  }
}
