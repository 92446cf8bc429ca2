import { parentPort, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { StrataError } from '../errors.js';
import { recycleChunk } from '../tar/walk.js';
import { type LayerRecipe, layerFromRecipe } from './recipe.js';

// Writes layers' tar bytes for the main thread (layer/read-thread.ts), so
// the per-file system calls happen here while the main thread writes. It
// blocks on `credits` (chunks the main thread is ready to take) rather than
// reading a layer into memory ahead of a slow reader.
type Setup = { credits: Int32Array; returns: MessagePort };
type Request = { recipe: LayerRecipe; first?: [string, string][] };

let credits: Int32Array;
let returns: MessagePort;

parentPort!.on('message', (m: Setup | Request) => {
  if ('credits' in m) return void ({ credits, returns } = m);
  const { recipe, first } = m;
  try {
    const layer = layerFromRecipe(recipe);
    if (first) layer.fingerprints?.adopt(first);
    for (const chunk of layer.open() as Iterable<Buffer>) {
      while (Atomics.load(credits, 0) <= 0) Atomics.wait(credits, 0, 0);
      Atomics.sub(credits, 0, 1);
      // Memory the main thread is done with comes back here to be filled again.
      for (let m = receiveMessageOnPort(returns); m; m = receiveMessageOnPort(returns)) recycleChunk(m.message as ArrayBuffer);
      const memory = chunk.buffer as ArrayBuffer;
      parentPort!.postMessage({ memory, length: chunk.length }, [memory]);
    }
    parentPort!.postMessage({ done: true });
  } catch (e) {
    const exitCode = e instanceof StrataError ? e.exitCode : undefined;
    parentPort!.postMessage({ error: { message: (e as Error).message, exitCode } });
  }
});
