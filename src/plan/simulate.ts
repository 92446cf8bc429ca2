import { createHash } from 'node:crypto';
import { referrers, walk } from '../closure/graph.js';
import { layerKey } from './layer-key.js';
import type { Closure } from '../closure/types.js';
import { DEFAULT_STRATEGY, STRATEGIES, type Strategy, planLayers } from './plan.js';

/**
 * The fleet simulator. Each image is planned alone with each
 * strategy at the same --max-layers (counting the customisation layer, so
 * maxLayers-1 store layers). A layer is identified by its exact set of store
 * paths; its bytes are the sum of their NAR sizes.
 *
 * - fleet: bytes a registry stores to hold every image once, identical layers
 *   counted once; bound: the union of the images' store paths.
 * - app update: for each image in turn, its top-level paths (those no other
 *   path of its closure references) get new hashes; the image is planned
 *   again and the bytes of its new layers that match none of its old layers
 *   are re-pulled (by a host holding the old image). Summed over the images;
 *   bound: the top-level paths' sizes, summed.
 * - library update: for each library, that path and every path depending on
 *   it get new hashes in every image holding it (as in Nix); each such image
 *   is planned again and re-pulls the bytes of layers that match none of its
 *   old layers. Summed over images and libraries; bound: the changed paths'
 *   sizes, per image, summed the same way.
 */
export interface SimImage {
  name: string;
  closure: Closure;
}

interface Metric {
  bytes: number;
  bound: number;
}

interface StrategyResult {
  strategy: Strategy;
  fleet: Metric;
  app: Metric;
  library: Metric;
  /** fleet + app + library bytes over their bounds. */
  excess: number;
  /** Planned with --reuse (simulate-reuse.ts). */
  reuse?: boolean;
}

interface SimulateOptions {
  maxLayers: number;
  strategies?: readonly Strategy[];
  /** Libraries to update; default: `libraryCount` paths sampled evenly from the fleet's sorted non-top-level paths. */
  libraries?: string[];
  libraryCount?: number;
}

export interface Simulation {
  maxLayers: number;
  libraries: string[];
  results: StrategyResult[];
}

const NIX32 = '0123456789abcdfghijklmnpqrsvwxyz';

/** The path with a new hash part, derived from the old path (deterministic). */
export function rehash(path: string): string {
  const slash = path.lastIndexOf('/');
  const dash = path.indexOf('-', slash);
  const hashLen = dash - slash - 1;
  const digest = createHash('sha256').update(path + '\0updated').digest();
  let h = '';
  for (let i = 0; i < hashLen; i++) h += NIX32[digest[i % digest.length]! % 32];
  return path.slice(0, slash + 1) + h + path.slice(dash);
}

/** Top-level paths: referenced by no other path of the closure. */
export function topLevel(closure: Closure): string[] {
  const referenced = referrers(closure);
  return closure.paths.map((p) => p.path).filter((p) => !referenced.has(p));
}

/** The paths that depend on `path` in the closure, `path` included (empty when absent). */
export function dependents(closure: Closure, path: string): Set<string> {
  if (!closure.paths.some((p) => p.path === path)) return new Set();
  const parents = referrers(closure);
  return walk([path], (p) => parents.get(p));
}

/** The closure with `changed` paths given new hashes (sorted again by path). */
export function renamed(closure: Closure, changed: Set<string>): Closure {
  const name = (p: string): string => (changed.has(p) ? rehash(p) : p);
  const paths = closure.paths.map((p) => ({ path: name(p.path), narSize: p.narSize, references: p.references.map(name) }));
  paths.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { storeDir: closure.storeDir, paths };
}

type Layers = { key: string; size: number }[];

function layersOf(closure: Closure, strategy: Strategy, maxLayers: number): Layers {
  return planLayers(closure, { strategy, maxLayers }).layers.map((l) => ({ key: layerKey(l.paths), size: l.size }));
}

function repulled(before: Layers, after: Layers): number {
  const had = new Set(before.map((l) => l.key));
  return after.reduce((s, l) => s + (had.has(l.key) ? 0 : l.size), 0);
}

function sizeOf(closure: Closure, paths: Iterable<string>): number {
  const want = new Set(paths);
  return closure.paths.reduce((s, p) => s + (want.has(p.path) ? p.narSize : 0), 0);
}

export function defaultLibraries(images: SimImage[], count: number): string[] {
  const tops = new Set(images.flatMap((i) => topLevel(i.closure)));
  const all = [...new Set(images.flatMap((i) => i.closure.paths.map((p) => p.path)))].filter((p) => !tops.has(p)).sort();
  if (all.length <= count) return all;
  return Array.from({ length: count }, (_, k) => all[Math.floor(((k + 0.5) * all.length) / count)]!);
}

export function simulate(images: SimImage[], options: SimulateOptions): Simulation {
  const { maxLayers } = options;
  const strategies = options.strategies ?? STRATEGIES;
  const libraries = options.libraries ?? defaultLibraries(images, options.libraryCount ?? 10);
  const union = new Map<string, number>();
  for (const i of images) for (const p of i.closure.paths) union.set(p.path, p.narSize);
  const fleetBound = [...union.values()].reduce((a, b) => a + b, 0);
  const tops = images.map((i) => topLevel(i.closure));
  const appBound = images.reduce((s, img, k) => s + sizeOf(img.closure, tops[k]!), 0);
  const libChanges = libraries.map((lib) => images.map((img) => dependents(img.closure, lib)));
  const libBound = libChanges.reduce((s, per) => s + per.reduce((t, changed, k) => t + sizeOf(images[k]!.closure, changed), 0), 0);

  const results = strategies.map((strategy): StrategyResult => {
    const plans = images.map((i) => layersOf(i.closure, strategy, maxLayers));
    const stored = new Map<string, number>();
    for (const plan of plans) for (const l of plan) stored.set(l.key, l.size);
    const fleet = [...stored.values()].reduce((a, b) => a + b, 0);
    let app = 0;
    images.forEach((img, k) => {
      app += repulled(plans[k]!, layersOf(renamed(img.closure, new Set(tops[k]!)), strategy, maxLayers));
    });
    let library = 0;
    for (const per of libChanges) {
      per.forEach((changed, k) => {
        if (changed.size === 0) return;
        library += repulled(plans[k]!, layersOf(renamed(images[k]!.closure, changed), strategy, maxLayers));
      });
    }
    return {
      strategy,
      fleet: { bytes: fleet, bound: fleetBound },
      app: { bytes: app, bound: appBound },
      library: { bytes: library, bound: libBound },
      excess: fleet - fleetBound + app - appBound + library - libBound,
    };
  });
  return { maxLayers, libraries, results };
}

/** The simulation as a table: bytes, and excess over the bound, per strategy. */
export function simulationToText(sim: Simulation): string {
  const head = ['strategy', 'fleet', '+excess', 'app update', '+excess', 'library update', '+excess', 'total excess', 'vs best other'];
  const others = sim.results.filter((r) => r.strategy !== DEFAULT_STRATEGY);
  const best = others.length ? Math.min(...others.map((r) => r.excess)) : NaN;
  const rows = sim.results.map((r) => [
    r.strategy + (r.reuse ? ' --reuse' : ''),
    String(r.fleet.bytes), String(r.fleet.bytes - r.fleet.bound),
    String(r.app.bytes), String(r.app.bytes - r.app.bound),
    String(r.library.bytes), String(r.library.bytes - r.library.bound),
    String(r.excess),
    best > 0 ? (r.excess / best).toFixed(2) + 'x' : '-',
  ]);
  const b = sim.results[0];
  const bounds = b ? ['bound', String(b.fleet.bound), '', String(b.app.bound), '', String(b.library.bound), '', '0', ''] : [];
  const all = [head, ...rows, ...(b ? [bounds] : [])];
  const width = head.map((_, c) => Math.max(...all.map((r) => r[c]!.length)));
  const lines = all.map((r) => r.map((cell, c) => (c === 0 ? cell.padEnd(width[c]!) : cell.padStart(width[c]!))).join('  ').trimEnd());
  return `max-layers ${sim.maxLayers}, ${sim.libraries.length} library update(s)\n` + lines.join('\n') + '\n';
}
