import type { Closure } from '../closure/types.js';
import { layerKey } from './layer-key.js';
import { DEFAULT_STRATEGY, type Plan, STRATEGIES, type Strategy, planLayers } from './plan.js';
import { type ReusedLayer, planReusing, reusedFromPlan } from './reuse.js';
import { type SimImage, type Simulation, defaultLibraries, dependents, renamed, topLevel } from './simulate.js';

/**
 * Planning against what was shipped, simulated. Two measures:
 *
 * - `simulateReuse`: the fleet measures of `simulate` (registry bytes, app
 *   and library updates re-pulled), with every image planned with --reuse:
 *   the fleet in order, each image reusing the plans of the images before it;
 *   each updated image reusing its previous plan, then the fleet's.
 * - `simulateReleases`: a series of releases of the fleet. Each release bumps
 *   `bump` libraries drawn from the fleet (they and every path depending on
 *   them get new hashes, in every image holding them, as in Nix) and every
 *   image's top-level paths. Per release: bytes re-sent (layers of each
 *   image its previous release lacks, summed over the images) and registry
 *   growth (layers the registry never held, counted once), each strategy
 *   planned alone and with --reuse of the previous release (and of the
 *   fleet's plans of this release, for the images before it). Lower bounds:
 *   the new paths' bytes, per image summed; and their union.
 */
interface ReleaseOptions {
  maxLayers: number;
  releases: number;
  /** Libraries bumped per release. */
  bump: number;
  strategies?: readonly Strategy[];
  /** Seeds the choice of libraries. */
  seed?: number;
}

interface SeriesResult {
  strategy: Strategy;
  reuse: boolean;
  /** Per release, from the first update on. */
  resent: number[];
  growth: number[];
}

export interface ReleaseSimulation {
  maxLayers: number;
  bump: number;
  /** The libraries bumped in each release. */
  libraries: string[][];
  bound: { resent: number[]; growth: number[] };
  results: SeriesResult[];
}

type Layers = { key: string; size: number }[];

const keyed = (plan: Plan): Layers => plan.layers.map((l) => ({ key: layerKey(l.paths), size: l.size }));

function sent(before: Layers, after: Layers): number {
  const had = new Set(before.map((l) => l.key));
  return after.reduce((s, l) => s + (had.has(l.key) ? 0 : l.size), 0);
}

function plan(closure: Closure, strategy: Strategy, maxLayers: number, reuse: ReusedLayer[][] | undefined): Plan {
  return reuse === undefined ? planLayers(closure, { strategy, maxLayers }) : planReusing(closure, { strategy, maxLayers, reuse });
}

/** The fleet planned in order, each image with --reuse of the plans before it (undefined: each alone). */
function planFleet(images: Closure[], strategy: Strategy, maxLayers: number, reuse: boolean): Plan[] {
  const plans: Plan[] = [];
  for (const closure of images) plans.push(plan(closure, strategy, maxLayers, reuse ? plans.map(reusedFromPlan) : undefined));
  return plans;
}

/** What an updated image reuses: its previous plan, then the fleet's (the others, in fleet order). */
function updateRefs(plans: Plan[], k: number): ReusedLayer[][] {
  return [plans[k]!, ...plans.filter((_, j) => j !== k)].map(reusedFromPlan);
}

const sizeOf = (closure: Closure, paths: Set<string>): number => closure.paths.reduce((s, p) => s + (paths.has(p.path) ? p.narSize : 0), 0);

/** `simulate`'s measures with --reuse (see the module comment); libraries as `simulate` draws them. */
export function simulateReuse(images: SimImage[], options: { maxLayers: number; strategies?: readonly Strategy[]; libraries?: string[]; libraryCount?: number }): Simulation {
  const { maxLayers } = options;
  const strategies = options.strategies ?? STRATEGIES;
  const libraries = options.libraries ?? defaultLibraries(images, options.libraryCount ?? 10);
  const closures = images.map((i) => i.closure);
  const union = new Map<string, number>();
  for (const c of closures) for (const p of c.paths) union.set(p.path, p.narSize);
  const fleetBound = [...union.values()].reduce((a, b) => a + b, 0);
  const tops = closures.map((c) => new Set(topLevel(c)));
  const appBound = closures.reduce((s, c, k) => s + sizeOf(c, tops[k]!), 0);
  const libChanges = libraries.map((lib) => closures.map((c) => dependents(c, lib)));
  const libBound = libChanges.reduce((s, per) => s + per.reduce((t, changed, k) => t + sizeOf(closures[k]!, changed), 0), 0);
  const results = strategies.map((strategy) => {
    const plans = planFleet(closures, strategy, maxLayers, true);
    const stored = new Map<string, number>();
    for (const p of plans) for (const l of keyed(p)) stored.set(l.key, l.size);
    const fleet = [...stored.values()].reduce((a, b) => a + b, 0);
    const update = (k: number, changed: Set<string>): number =>
      sent(keyed(plans[k]!), keyed(plan(renamed(closures[k]!, changed), strategy, maxLayers, updateRefs(plans, k))));
    const app = closures.reduce((s, _, k) => s + update(k, tops[k]!), 0);
    const library = libChanges.reduce((s, per) => s + per.reduce((t, changed, k) => t + (changed.size === 0 ? 0 : update(k, changed)), 0), 0);
    return {
      strategy,
      reuse: true,
      fleet: { bytes: fleet, bound: fleetBound },
      app: { bytes: app, bound: appBound },
      library: { bytes: library, bound: libBound },
      excess: fleet - fleetBound + app - appBound + library - libBound,
    };
  });
  return { maxLayers, libraries, results };
}

/** A release series of the fleet (see the module comment). */
export function simulateReleases(images: SimImage[], options: ReleaseOptions): ReleaseSimulation {
  const { maxLayers, releases, bump } = options;
  const strategies = options.strategies ?? STRATEGIES;
  let rng = (options.seed ?? 1) >>> 0;
  const random = (): number => (rng = (Math.imul(rng, 1103515245) + 12345) >>> 0) / 2 ** 32;
  // The closures of every release, and what each release bumped.
  const series: Closure[][] = [images.map((i) => i.closure)];
  const libraries: string[][] = [];
  const bound = { resent: [] as number[], growth: [] as number[] };
  for (let r = 1; r <= releases; r++) {
    const prev = series[r - 1]!;
    const pool = defaultLibraries(prev.map((closure, k) => ({ name: images[k]!.name, closure })), Infinity);
    const picked: string[] = [];
    while (picked.length < bump && pool.length > 0) picked.push(pool.splice(Math.floor(random() * pool.length), 1)[0]!);
    picked.sort();
    libraries.push(picked);
    const next = prev.map((closure) => {
      const changed = new Set(topLevel(closure));
      for (const lib of picked) for (const p of dependents(closure, lib)) changed.add(p);
      return renamed(closure, changed);
    });
    const fresh = new Map<string, number>();
    let resent = 0;
    next.forEach((closure, k) => {
      const had = new Set(prev[k]!.paths.map((p) => p.path));
      for (const p of closure.paths) {
        if (had.has(p.path)) continue;
        resent += p.narSize;
        fresh.set(p.path, p.narSize);
      }
    });
    bound.resent.push(resent);
    bound.growth.push([...fresh.values()].reduce((a, b) => a + b, 0));
    series.push(next);
  }
  const results: SeriesResult[] = [];
  for (const strategy of strategies) {
    for (const reuse of [false, true]) {
      const registry = new Set<string>();
      let plans: Plan[] = [];
      const result: SeriesResult = { strategy, reuse, resent: [], growth: [] };
      series.forEach((closures, r) => {
        const now: Plan[] = [];
        closures.forEach((closure, k) => {
          const refs = !reuse ? undefined : r === 0 ? now.map(reusedFromPlan) : [plans[k]!, ...now, ...plans.slice(k + 1)].map(reusedFromPlan);
          now.push(plan(closure, strategy, maxLayers, refs));
        });
        let growth = 0;
        for (const l of now.flatMap(keyed)) {
          if (registry.has(l.key)) continue;
          registry.add(l.key);
          growth += l.size;
        }
        if (r > 0) {
          result.resent.push(now.reduce((s, p, k) => s + sent(keyed(plans[k]!), keyed(p)), 0));
          result.growth.push(growth);
        }
        plans = now;
      });
      results.push(result);
    }
  }
  return { maxLayers, bump, libraries, bound, results };
}

const total = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);

/** A release simulation as a table: per strategy, alone and with --reuse, bytes per release, and excess over the bound against the best of the other strategies. */
export function releasesToText(sim: ReleaseSimulation): string {
  const n = sim.bound.resent.length;
  const mean = (xs: number[]): number => Math.round(total(xs) / Math.max(n, 1));
  const excess = (r: SeriesResult): number => mean(r.resent) - mean(sim.bound.resent);
  const others = sim.results.filter((r) => r.strategy !== DEFAULT_STRATEGY).map(excess);
  const best = others.length ? Math.min(...others) : NaN;
  const head = ['strategy', 're-sent/release', '+excess', 'registry growth/release', '+excess', 'excess vs best other'];
  const rows = sim.results.map((r) => [
    r.strategy + (r.reuse ? ' --reuse' : ''),
    String(mean(r.resent)), String(excess(r)),
    String(mean(r.growth)), String(mean(r.growth) - mean(sim.bound.growth)),
    best > 0 ? (excess(r) / best).toFixed(2) + 'x' : '-',
  ]);
  rows.push(['bound', String(mean(sim.bound.resent)), '', String(mean(sim.bound.growth)), '', '']);
  const all = [head, ...rows];
  const width = head.map((_, c) => Math.max(...all.map((r) => r[c]!.length)));
  const lines = all.map((r) => r.map((cell, c) => (c === 0 ? cell.padEnd(width[c]!) : cell.padStart(width[c]!))).join('  ').trimEnd());
  return `max-layers ${sim.maxLayers}, ${n} release(s) of ${sim.bump} library bump(s) and the applications; bytes per release\n` + lines.join('\n') + '\n';
}
