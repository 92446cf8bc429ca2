import { parentPort } from 'node:worker_threads';
import { toThreadError } from '../errors.js';
import { type LayerRecipe, layerFromRecipe } from '../layer/recipe.js';
import { isStoreLayer } from '../layer/store-layer.js';
import type { ForeignBinary } from './binary.js';
import { toColumns } from '../tar/member-columns.js';
import { seeForeign } from './platform-guard.js';
import type { WalkJob, WalkedLayer } from './walk-thread.js';

// Walks store layers from the last while the main thread walks from the
// first (see WalkThread), each layer as the main thread would: the same
// walkAhead and the guard's look at each entry. After a layer's error it
// stops: the main thread walks the layers before it, whose error comes first.
parentPort!.on('message', ({ job, claims, recipes, target, keep }: WalkJob) => {
  const claimed = new Int32Array(claims);
  for (let index = recipes.length - 1; Atomics.add(claimed, 0, 1) < recipes.length; index--) {
    const recipe = recipes[index] as LayerRecipe | undefined;
    if (!recipe) continue;
    const foreign: ForeignBinary[] = [];
    try {
      const layer = layerFromRecipe(recipe);
      if (!isStoreLayer(layer)) throw new Error(`walk thread: a ${recipe.kind} layer is not a store layer`);
      const members = layer.walkAhead(seeForeign(target, foreign), keep);
      const columns = members && toColumns(members);
      const m: WalkedLayer = { job, index, columns, foreign };
      parentPort!.postMessage(m, columns ? [columns.types, columns.entries, columns.linkAt, columns.ownerAt, columns.numbers].map((a) => a.buffer as ArrayBuffer) : []);
    } catch (e) {
      parentPort!.postMessage({ job, index, error: toThreadError(e) } satisfies WalkedLayer);
      return;
    }
  }
});
