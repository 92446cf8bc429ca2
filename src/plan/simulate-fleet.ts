import { loadClosure } from '../closure/load.js';
import { StrataError } from '../errors.js';
import { type Strategy, checkMaxLayers } from './plan.js';
import { type SimImage, type Simulation, simulate } from './simulate.js';

/** What `strata simulate` takes: a fleet of images, each a store path or a graph file. */
export interface SimulateFleetOptions {
  /** Store paths, one image each. */
  roots?: string[];
  /** Reference graph files, one image each. */
  graphs?: string[];
  storeDir?: string;
  store?: 'nix' | 'guix';
  /** Layer budgets, counting the customisation layer: a simulation each. */
  maxLayers: number[];
  strategies?: readonly Strategy[];
  /** Library store paths to update (default: `libraryCount` paths sampled from the fleet). */
  libraries?: string[];
  libraryCount?: number;
  warn?(message: string): void;
}

/** Compare the strategies on a fleet, once per budget. */
export async function simulateFleet(options: SimulateFleetOptions): Promise<{ images: number; simulations: Simulation[] }> {
  const images: SimImage[] = [];
  for (const g of options.graphs ?? []) images.push({ name: g, closure: await loadClosure({ graph: g, storeDir: options.storeDir, warn: options.warn }) });
  for (const r of options.roots ?? []) images.push({ name: r, closure: await loadClosure({ roots: [r], storeDir: options.storeDir, store: options.store, warn: options.warn }) });
  if (images.length === 0) throw new StrataError('simulate: name images as store paths or --graph FILE');
  const simulations = options.maxLayers.map((m) =>
    simulate(images, { maxLayers: checkMaxLayers(m), strategies: options.strategies, libraries: options.libraries, libraryCount: options.libraryCount }),
  );
  return { images: images.length, simulations };
}
