import { loadClosure } from '../closure/stores/table.js';
import { StrataError } from '../errors.js';
import { type Strategy, checkMaxLayers } from './plan.js';
import { type SimImage, type Simulation, simulate } from './simulate.js';
import { type ReleaseSimulation, simulateReleases, simulateReuse } from './simulate-reuse.js';

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
  /** Also plan each strategy with reuse: the fleet in order, each image reusing the plans before it; each update its previous plan, then the fleet's. */
  reuse?: boolean;
  warn?(message: string): void;
}

/** What `strata simulate --releases N` takes: the fleet, and the series. */
export interface SimulateReleasesOptions extends Omit<SimulateFleetOptions, 'libraries' | 'libraryCount' | 'reuse'> {
  releases: number;
  /** Libraries bumped per release. */
  bump: number;
  seed?: number;
}

async function loadFleet(options: SimulateFleetOptions): Promise<SimImage[]> {
  const images: SimImage[] = [];
  for (const g of options.graphs ?? []) images.push({ name: g, closure: await loadClosure({ graph: g, storeDir: options.storeDir, warn: options.warn }) });
  for (const r of options.roots ?? []) images.push({ name: r, closure: await loadClosure({ roots: [r], storeDir: options.storeDir, store: options.store, warn: options.warn }) });
  if (images.length === 0) throw new StrataError('simulate: name images as store paths or --graph FILE');
  return images;
}

/** Compare the strategies on a fleet, once per budget. */
export async function simulateFleet(options: SimulateFleetOptions): Promise<{ images: number; simulations: Simulation[] }> {
  const images = await loadFleet(options);
  const simulations = options.maxLayers.map((m) => {
    const settings = { maxLayers: checkMaxLayers(m), strategies: options.strategies, libraries: options.libraries, libraryCount: options.libraryCount };
    const alone = simulate(images, settings);
    if (!options.reuse) return alone;
    // The same libraries, so the rows compare.
    const reused = simulateReuse(images, { ...settings, libraries: alone.libraries });
    return { ...alone, results: [...alone.results, ...reused.results] };
  });
  return { images: images.length, simulations };
}

/** A series of releases per budget, each strategy planned alone and with reuse of the previous release. */
export async function simulateFleetReleases(options: SimulateReleasesOptions): Promise<{ images: number; series: ReleaseSimulation[] }> {
  for (const [flag, v] of [['--releases', options.releases], ['--bump', options.bump]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new StrataError(`${flag} ${v}: expected a whole number, 1 or more`);
  }
  const images = await loadFleet(options);
  const series = options.maxLayers.map((m) =>
    simulateReleases(images, { maxLayers: checkMaxLayers(m), releases: options.releases, bump: options.bump, strategies: options.strategies, seed: options.seed }),
  );
  return { images: images.length, series };
}
