import { open } from 'node:fs/promises';
import { StrataError } from '../errors.js';
import { Readable, type Transform } from 'node:stream';

/** `source` passed through `transform`, errors on either side ending the iteration. */
export async function* through(source: AsyncIterable<Buffer> | Iterable<Buffer>, transform: Transform): AsyncGenerator<Buffer> {
  const readable = Readable.from(source, { objectMode: false });
  readable.on('error', (e) => transform.destroy(e));
  readable.pipe(transform);
  try {
    for await (const chunk of transform) yield chunk as Buffer;
  } finally {
    readable.destroy();
  }
}

// Chunks their producer made for one reader and never touches again (fresh
// file reads, full tar chunks): that reader may hand their memory to a
// thread, uncopied.
const fresh = new WeakSet<Buffer>();

/** Mark `chunk` as its reader's to keep (see ownChunk): its producer never touches it again. */
export function markOwn(chunk: Buffer): Buffer {
  fresh.add(chunk);
  return chunk;
}

/**
 * `length` bytes of a file from `start`, read in sequence into `size`-byte
 * chunks from `take()` (memory given back to it is filled again, never
 * faulted in anew), each marked as its reader's to keep (see ownChunk); a
 * shorter last piece gets memory of its own size.
 */
export async function* fileRange(path: string, start: number, length: number, take: () => Buffer, size: number): AsyncGenerator<Buffer> {
  const fh = await open(path, 'r');
  try {
    for (let done = 0; done < length; ) {
      const want = Math.min(size, length - done);
      const buf = want === size ? take() : Buffer.allocUnsafeSlow(want);
      for (let got = 0; got < want; ) {
        const { bytesRead } = await fh.read(buf, got, want - got, start + done + got);
        if (bytesRead === 0) throw new StrataError(`${path}: truncated at byte ${start + done + got}`);
        got += bytesRead;
      }
      done += want;
      yield markOwn(buf);
    }
  } finally {
    await fh.close();
  }
}

/** Whether a chunk's whole memory may be taken by its reader: marked by fileRange, and not a view of a larger allocation. */
export function ownChunk(chunk: Buffer): boolean {
  return fresh.has(chunk) && chunk.byteOffset === 0 && chunk.buffer.byteLength === chunk.length && chunk.buffer instanceof ArrayBuffer;
}

// Chunks whose memory their producer takes back once their consumer is done
// with them (a socket has written them), to be filled again rather than
// left as garbage.
const producers = new WeakMap<Buffer, (memory: ArrayBuffer) => void>();

/** Mark `chunk` (the one view of its memory) as wanted back by its producer, through `giveBack`. */
export function returnable(chunk: Buffer, giveBack: (memory: ArrayBuffer) => void): Buffer {
  producers.set(chunk, giveBack);
  return chunk;
}

/** The consumer of `chunk` will never read it again: its memory goes back to its producer, if that wants it. */
export function doneWith(chunk: Buffer): void {
  const giveBack = producers.get(chunk);
  if (!giveBack) return;
  producers.delete(chunk);
  giveBack(chunk.buffer as ArrayBuffer);
}
