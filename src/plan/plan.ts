import { StrataError } from '../errors.js';
import { type Closure, byPath } from '../closure/types.js';
import { popularityOrder } from './popularity.js';

export interface PlannedLayer {
  /** Store paths of the layer, in the order they are written. */
  paths: string[];
  /** Sum of the paths' NAR sizes. */
  size: number;
}

/** Store layers in image order (bottom first), every closure path in exactly one. */
export interface Plan {
  storeDir: string;
  strategy: Strategy;
  maxLayers: number;
  layers: PlannedLayer[];
}

export const STRATEGIES = ['popularity'] as const;
export type Strategy = (typeof STRATEGIES)[number];

export interface PlanOptions {
  strategy?: Strategy;
  /** Every layer of the image, the customisation layer included (nixpkgs' maxLayers). */
  maxLayers?: number;
  /** Layers already taken by a base image. */
  baseLayers?: number;
}

export const DEFAULT_MAX_LAYERS = 100;

export function planLayers(closure: Closure, options: PlanOptions = {}): Plan {
  const strategy = options.strategy ?? 'popularity';
  const maxLayers = options.maxLayers ?? DEFAULT_MAX_LAYERS;
  if (!Number.isInteger(maxLayers) || maxLayers <= 1) {
    throw new StrataError(`--max-layers ${maxLayers}: must be an integer greater than 1 (one layer is the customisation layer)`);
  }
  const used = (options.baseLayers ?? 0) + 1;
  if (used >= maxLayers) {
    throw new StrataError(
      `--max-layers ${maxLayers}: the base image's ${used - 1} layer(s) and the customisation layer leave no layer for the store paths; raise --max-layers above ${used}`,
    );
  }
  const order = popularityOrder(closure);
  const info = byPath(closure);
  const layers = limitLayers(order, maxLayers - used).map((paths) => ({
    paths,
    size: paths.reduce((sum, p) => sum + info.get(p)!.narSize, 0),
  }));
  return { storeDir: closure.storeDir, strategy, maxLayers, layers };
}

/** nixpkgs' limit_layers: the first n-1 paths get a layer each, the rest share the last. */
export function limitLayers(order: string[], n: number): string[][] {
  const layers = order.slice(0, n - 1).map((p) => [p]);
  if (order.length > n - 1) layers.push(order.slice(n - 1));
  return layers;
}
