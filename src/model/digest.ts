import { createHash, type Hash } from 'node:crypto';
import type { Bytes } from './image.js';

/** Hex sha256 of some bytes or text. */
export function sha256Hex(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** An OCI digest: `sha256:<hex>`. */
export function sha256Digest(data: Buffer | string): string {
  return `sha256:${sha256Hex(data)}`;
}

/** A sha256 and a byte count kept over chunks as they pass. */
export class StreamDigest {
  private readonly hash: Hash = createHash('sha256');
  size = 0;

  update(chunk: Buffer): void {
    this.hash.update(chunk);
    this.size += chunk.length;
  }

  /** `sha256:<hex>` of everything passed; call once, at the end. */
  digest(): string {
    return `sha256:${this.hash.digest('hex')}`;
  }
}

/** Bytes passed on while their digest and size are taken; `result()` once they are through. */
export function hashing(source: Bytes): AsyncGenerator<Buffer> & { done(): boolean; result(): { digest: string; size: number } } {
  const sum = new StreamDigest();
  let result: { digest: string; size: number } | undefined;
  const gen = (async function* () {
    for await (const chunk of source) {
      sum.update(chunk);
      yield chunk;
    }
    result = { digest: sum.digest(), size: sum.size };
  })();
  return Object.assign(gen, { done: () => result !== undefined, result: () => result! });
}

/** Digest and size of some bytes. */
export async function digestOf(source: Bytes): Promise<{ digest: string; size: number }> {
  const sum = new StreamDigest();
  for await (const chunk of source) sum.update(chunk);
  return { digest: sum.digest(), size: sum.size };
}
