import { closeSync, openSync, statSync, writeSync } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Writable } from 'node:stream';
import { ExitCode, StrataError, fileError } from './errors.js';
import { removeOnExit } from './scratch.js';

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
  end(): Promise<void>;
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
 * A file or a pipe written with plain write(2) calls: no thread-pool round
 * trip per chunk, and every chunk is written through when `write` returns.
 */
class FdSink implements ByteSink {
  bytes = 0;
  readonly flushed = true;
  private closed = false;

  constructor(
    private readonly fd: number,
    private readonly name: string,
  ) {}

  async write(chunk: Buffer): Promise<void> {
    for (let done = 0; done < chunk.length; ) {
      try {
        done += writeSync(this.fd, chunk, done);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EPIPE') throw new StrataError('output closed by its reader', ExitCode.BrokenPipe);
        throw fileError(this.name, e);
      }
    }
    this.bytes += chunk.length;
  }

  protected pwrite(offset: number, bytes: Buffer): void {
    for (let done = 0; done < bytes.length; ) {
      try {
        done += writeSync(this.fd, bytes, done, bytes.length - done, offset + done);
      } catch (e) {
        throw fileError(this.name, e);
      }
    }
  }

  async end(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    closeSync(this.fd);
  }
}

/** A regular file: bytes already written can be overwritten. */
class FileSink extends FdSink {
  async patch(offset: number, bytes: Buffer): Promise<void> {
    if (offset + bytes.length > this.bytes) throw new Error(`patch at ${offset} beyond the ${this.bytes} bytes written`);
    this.pwrite(offset, bytes);
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
    if (process.stdout.isTTY) throw new StrataError('refusing to write an image to a terminal; redirect standard output or use -o FILE');
    const sink = new StreamSink(process.stdout);
    return { sink, commit: async () => {}, abort: async () => {} };
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
    return { sink, commit: () => sink.end(), abort: () => sink.end() };
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
      await sink.end();
      await rm(path, { force: true });
      forget();
    },
  };
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
