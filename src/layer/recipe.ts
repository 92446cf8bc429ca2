import type { Layer } from '../model/image.js';
import { storeLayer } from './store-layer.js';

/**
 * How to make a layer again from plain data, so another thread can read it
 * (layer/hasher.ts). One entry per layer kind that can be rebuilt.
 */
export type LayerRecipe = { kind: 'store'; args: Parameters<typeof storeLayer> };

export function layerFromRecipe(recipe: LayerRecipe): Layer {
  return storeLayer(...recipe.args);
}
