import { ExitCode, StrataError } from '../errors.js';
import { StreamDigest } from '../model/digest.js';
import type { Layer } from '../model/image.js';

/**
 * A layer's tar bytes passing through on their way to a compressor or a
 * blob, hashed and counted; `finish()`, once they are through, gives the
 * diff_id and size and fails if they are not what the layer claims.
 */
export function checkedTar(layer: Layer): { bytes: AsyncGenerator<Buffer>; finish(): { diffId: string; size: number } } {
  const tar = new StreamDigest();
  async function* bytes(): AsyncGenerator<Buffer> {
    for await (const chunk of layer.open()) {
      tar.update(chunk);
      yield chunk;
    }
  }
  return {
    bytes: bytes(),
    finish: () => claimed(layer, tar.digest(), tar.size),
  };
}

/** checkedTar for bytes hashed where they go (a compressor hashing on its thread): here only counted; `digest`, hex, once they are through. */
export function countedTar(layer: Layer, digest: () => string): { bytes: AsyncGenerator<Buffer>; finish(): { diffId: string; size: number } } {
  let size = 0;
  async function* bytes(): AsyncGenerator<Buffer> {
    for await (const chunk of layer.open()) {
      size += chunk.length;
      yield chunk;
    }
  }
  return { bytes: bytes(), finish: () => claimed(layer, `sha256:${digest()}`, size) };
}

/** The tar's digest and size, unless they are not what the layer claims. */
export function claimed(layer: Layer, diffId: string, size: number): { diffId: string; size: number } {
  if (layer.known && (layer.known.digest !== diffId || (layer.known.size !== undefined && layer.known.size !== size))) {
    throw new StrataError(`layer (${layer.contents.join(' ')}): content digest ${diffId} instead of ${layer.known.digest}; its files changed or the recorded digest is wrong`, ExitCode.Integrity);
  }
  return { diffId, size };
}
