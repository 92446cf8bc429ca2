import { createHash } from 'node:crypto';
import type { Layer } from '../image/model.js';
import { recycleChunk } from '../tar/walk.js';

/** Digest and size of a layer, by reading it. */
export async function measure(layer: Layer): Promise<{ digest: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of layer.open()) {
    hash.update(chunk);
    size += chunk.length;
    recycleChunk(chunk);
  }
  return { digest: `sha256:${hash.digest('hex')}`, size };
}
