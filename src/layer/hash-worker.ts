import { parentPort } from 'node:worker_threads';
import { StrataError } from '../errors.js';
import { measure } from './measure.js';
import { type LayerRecipe, layerFromRecipe } from './recipe.js';

// Hashes layers off the main thread, one request at a time, so the main
// thread can stream one layer while the next is measured.
parentPort!.on('message', async ({ id, recipe }: { id: number; recipe: LayerRecipe }) => {
  try {
    const layer = layerFromRecipe(recipe);
    const result = await measure(layer);
    parentPort!.postMessage({ id, result, first: layer.fingerprints?.export() });
  } catch (e) {
    const exitCode = e instanceof StrataError ? e.exitCode : undefined;
    parentPort!.postMessage({ id, error: { message: (e as Error).message, exitCode } });
  }
});
