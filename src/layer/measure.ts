import { StreamDigest } from '../model/digest.js';
import type { Layer } from '../model/image.js';
import { recycleChunk } from '../tar/chunked-tar.js';

/** Digest and size of a layer, by reading it. */
export async function measure(layer: Layer): Promise<{ digest: string; size: number }> {
  const sum = new StreamDigest();
  for await (const chunk of layer.open()) {
    sum.update(chunk);
    recycleChunk(chunk);
  }
  return { digest: sum.digest(), size: sum.size };
}
