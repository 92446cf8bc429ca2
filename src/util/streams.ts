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
