import { createWriteStream, statSync, type WriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Writable } from 'node:stream';
import { ExitCode, StrataError } from './errors.js';

/** Bytes out, with backpressure; a reader that went away becomes a BrokenPipe error. */
export class ByteSink {
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
    if (!this.stream.write(chunk)) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          this.stream.off('drain', done);
          this.stream.off('error', done);
          this.stream.off('close', done);
          resolve();
        };
        this.stream.on('drain', done);
        this.stream.on('error', done);
        this.stream.on('close', done);
      });
      if (this.failure) throw this.failure;
    }
  }

  async end(): Promise<void> {
    if (this.failure) throw this.failure;
    await new Promise<void>((resolve, reject) => {
      this.stream.end(() => (this.failure ? reject(this.failure) : resolve()));
    });
  }
}

/** An output that appears under its name only once complete. */
export interface Output {
  sink: ByteSink;
  /** Make the output final. */
  commit(): Promise<void>;
  /** Drop what was written (no half-written file is left behind). */
  abort(): Promise<void>;
}

/**
 * `-` is standard output; a device or a pipe (`/dev/null`, `/dev/stdout`, a
 * FIFO) is written in place, since renaming over it would replace it; anything
 * else is a file written to a temporary name and renamed at the end.
 */
export function openOutput(target: string): Output {
  if (target === '-') {
    if (process.stdout.isTTY) throw new StrataError('refusing to write an image to a terminal; redirect standard output or use -o FILE');
    const sink = new ByteSink(process.stdout);
    return { sink, commit: async () => {}, abort: async () => {} };
  }
  if (isSpecialFile(target)) {
    const sink = new ByteSink(createWriteStream(target, { flags: 'a' }));
    return { sink, commit: () => sink.end(), abort: async () => {} };
  }
  const temp = join(dirname(target), `.${basename(target)}.strata-${process.pid}.tmp`);
  const stream: WriteStream = createWriteStream(temp, { mode: 0o644 });
  const sink = new ByteSink(stream);
  return {
    sink,
    commit: async () => {
      await sink.end();
      await rename(temp, target);
    },
    abort: async () => {
      stream.destroy();
      await rm(temp, { force: true });
    },
  };
}

function isSpecialFile(path: string): boolean {
  const st = statSync(path, { throwIfNoEntry: false });
  return st !== undefined && !st.isFile() && !st.isDirectory();
}
