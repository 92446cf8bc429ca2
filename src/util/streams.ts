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
// file reads): that reader may hand their memory to a thread, uncopied.
const fresh = new WeakSet<Buffer>();

/** A file's bytes as read, each chunk marked as its reader's to keep (see ownChunk). */
export async function* freshReads(stream: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  for await (const chunk of stream) {
    fresh.add(chunk);
    yield chunk;
  }
}

/** Whether a chunk's whole memory may be taken by its reader: marked by freshReads, and not a view of a larger allocation. */
export function ownChunk(chunk: Buffer): boolean {
  return fresh.has(chunk) && chunk.byteOffset === 0 && chunk.buffer.byteLength === chunk.length && chunk.buffer instanceof ArrayBuffer;
}
