import { StrataError } from '../errors.js';
import { byPath, walk } from '../closure/graph.js';
import type { Closure } from '../closure/types.js';
import { popularityOrder } from './popularity.js';
import { autoLayers } from './auto.js';
import { limitLayers } from './limit.js';
import { sharedLayers } from './shared.js';
import { sizeLayers } from './size.js';
import { type Pipeline, pipelineLayers } from './pipeline.js';
import { DEFAULT_MAX_LAYERS, DEFAULT_STRATEGY, type Strategy } from './strategies.js';

export { limitLayers };
export { DEFAULT_MAX_LAYERS, DEFAULT_STRATEGY, STRATEGIES, type Strategy } from './strategies.js';

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

export interface PlanOptions {
  strategy?: Strategy;
  /** Every layer of the image, the customisation layer included (nixpkgs' maxLayers). */
  maxLayers?: number;
  /** Layers already taken by a base image. */
  baseLayers?: number;
  /**
   * Explicit layers (nix2container's `layers`), bottom first: each holds the
   * closure of its paths less what earlier explicit layers hold; the strategy
   * plans the rest of the closure in the layers left.
   */
  layers?: string[][];
  /**
   * nixpkgs' layeringPipeline: when given, it makes the store layers (after
   * any explicit ones) instead of the strategy, as many as it gives.
   */
  pipeline?: Pipeline;
}

/** A layer budget, checked: at least one store layer beside the customisation layer. */
export function checkMaxLayers(maxLayers: number): number {
  if (!Number.isInteger(maxLayers) || maxLayers <= 1) {
    throw new StrataError(`--max-layers ${maxLayers}: must be an integer greater than 1 (one layer is the customisation layer)`);
  }
  return maxLayers;
}

export function planLayers(closure: Closure, options: PlanOptions = {}): Plan {
  const strategy = options.strategy ?? DEFAULT_STRATEGY;
  const maxLayers = options.maxLayers ?? DEFAULT_MAX_LAYERS;
  // A layering pipeline makes as many layers as it gives: the budget is the strategies' (as nixpkgs).
  const budgeted = options.pipeline === undefined;
  if (budgeted) checkMaxLayers(maxLayers);
  const used = (options.baseLayers ?? 0) + 1;
  if (budgeted && used >= maxLayers) {
    throw new StrataError(
      `--max-layers ${maxLayers}: the base image's ${used - 1} layer(s) and the customisation layer leave no layer for the store paths; raise --max-layers above ${used}`,
    );
  }
  const info = byPath(closure);
  const explicit = explicitLayers(closure, options.layers ?? []);
  const taken = new Set(explicit.flat());
  const budget = maxLayers - used - explicit.length;
  if (budgeted && budget < (taken.size < closure.paths.length ? 1 : 0)) {
    throw new StrataError(`--max-layers ${maxLayers}: ${explicit.length} --layer layer(s), the base image's layers and the customisation layer leave no layer for the other store paths; raise --max-layers`);
  }
  const rest: Closure = taken.size === 0 ? closure : {
    storeDir: closure.storeDir,
    paths: closure.paths.filter((p) => !taken.has(p.path)).map((p) => ({ ...p, references: p.references.filter((r) => !taken.has(r)) })),
  };
  const planned = rest.paths.length === 0 ? [] : options.pipeline ? pipelineLayers(options.pipeline, rest) : strategyLayers(strategy, rest, budget);
  const layers = [...explicit, ...planned].map((paths) => ({
    paths,
    size: paths.reduce((sum, p) => sum + info.get(p)!.narSize, 0),
  }));
  return { storeDir: closure.storeDir, strategy, maxLayers, layers };
}

/** The store layers of one strategy for a closure, at most `n` of them. */
export function strategyLayers(strategy: Strategy, closure: Closure, n: number): string[][] {
  switch (strategy) {
    case 'popularity':
      return limitLayers(popularityOrder(closure), n);
    case 'auto':
      return autoLayers(closure, n);
    case 'size':
      return sizeLayers(closure, n);
    case 'shared':
      return sharedLayers(closure, n);
  }
}

/** --layer PATHS: each layer the closure of its paths, less earlier layers; paths in closure order. */
function explicitLayers(closure: Closure, groups: string[][]): string[][] {
  if (groups.length === 0) return [];
  const info = byPath(closure);
  const taken = new Set<string>();
  return groups.map((group) => {
    for (const p of group) if (!info.has(p)) throw new StrataError(`--layer ${p}: not a path of the closure`);
    const found = walk(group, (p) => info.get(p)!.references, taken);
    for (const p of found) taken.add(p);
    const paths = closure.paths.map((p) => p.path).filter((p) => found.has(p));
    if (paths.length === 0) throw new StrataError(`--layer ${group.join(',')}: every path is already in an earlier --layer`);
    return paths;
  });
}
