import type { Closure } from '../closure/types.js';
import { StrataError } from '../errors.js';
import { indexClosure, reach } from '../closure/graph.js';
import { shortName } from '../closure/store-path.js';
import { layerKey } from '../plan/layer-key.js';
import { firstFew } from '../util/text.js';
import type { Plan, Strategy } from '../plan/plan.js';
import { popularityScores } from '../plan/popularity.js';
import { type Simulation, simulate, topLevel } from '../plan/simulate.js';

/**
 * What `strata report` shows, and prints with --format json: per image its
 * layers (size, share, paths largest first, why they are together), totals
 * and largest paths; for several images the layers they share; optionally
 * the strategy comparison of `strata simulate`.
 */
export interface Report {
  images: ReportImage[];
  /** For two images or more. */
  sharing: Sharing | null;
  /** `--compare`: every strategy at the images' --max-layers. */
  comparison: Simulation | null;
}

export interface ReportImage {
  /** As given: a root store path, a graph file or a plan file. */
  name: string;
  /** A short name for charts: the root's name without its hash, or the file's name. */
  label: string;
  /** How the layers were made: a strategy, or nixpkgs' layering pipeline. */
  strategy: Strategy | 'pipeline';
  storeDir: string;
  /** Store bytes of the image: the sum of its paths' NAR sizes. */
  size: number;
  pathCount: number;
  /** Layers used (store layers and the customisation layer) of --max-layers. */
  budget: { used: number; max: number };
  /** The closure's top-level paths (referenced by no other path); empty for a plan file. */
  roots: string[];
  /** Bottom first. */
  layers: ReportLayer[];
  /** The largest paths of the image, largest first (at most LARGEST); none when path sizes are unknown. */
  largest: (ReportPath & { layer: number })[];
}

interface ReportLayer {
  /** 1 for the bottom layer. */
  index: number;
  size: number;
  /** size / the image's size, 0 to 1. */
  share: number;
  /** Largest first; in plan order when sizes are unknown. */
  paths: ReportPath[];
  /** Why these paths are together, in a sentence. */
  why: string;
  /** The top-level paths that need this layer. */
  usedBy: string[];
  /** Paths of other layers that refer to this layer's paths directly, largest first. */
  referencedBy: string[];
  /** Labels of the other images holding the identical layer (same paths). */
  sharedWith: string[];
}

interface ReportPath {
  path: string;
  /** NAR size; null when only a plan file is known (it gives layer sizes only). */
  size: number | null;
  /** nixpkgs' popularity (popularity strategy only). */
  popularity?: number;
}

export interface Sharing {
  /** Layers held by two images or more, largest first. */
  layers: { size: number; paths: string[]; images: string[] }[];
  /** bytes[i][j]: bytes of the layers images i and j both hold (the diagonal: image i's size). */
  matrix: number[][];
  /** Every image's layers, summed. */
  total: number;
  /** What a registry stores: identical layers once. */
  stored: number;
  saved: number;
}

/** One image to report on: its plan, and its closure when known. */
export interface ReportInput {
  name: string;
  plan: Plan;
  closure?: Closure;
  /** The layers came from a --layering-pipeline, not from plan.strategy. */
  pipeline?: boolean;
}

const LARGEST = 10;

export function buildReport(inputs: ReportInput[], options: { compare?: boolean } = {}): Report {
  const labels = uniqueLabels(inputs.map((i) => labelOf(i.name, i.plan.storeDir)));
  const keys = inputs.map((i) => i.plan.layers.map((l) => layerKey(l.paths)));
  const images = inputs.map((input, k) => {
    const others = (key: string): string[] => labels.filter((_, o) => o !== k && keys[o]!.includes(key));
    return reportImage(input, labels[k]!, (index) => others(keys[k]![index]!));
  });
  let comparison: Simulation | null = null;
  if (options.compare) {
    const closures = inputs.map((i) => i.closure);
    if (closures.some((c) => c === undefined)) throw new StrataError('--compare: needs closures (store paths or --graph FILE); a plan file has no references to plan again');
    comparison = simulate(inputs.map((i, k) => ({ name: labels[k]!, closure: i.closure! })), { maxLayers: inputs[0]!.plan.maxLayers });
  }
  return { images, sharing: inputs.length > 1 ? sharing(images, keys) : null, comparison };
}

function reportImage(input: ReportInput, label: string, sharedWith: (index: number) => string[]): ReportImage {
  const { plan, closure } = input;
  const sizes = new Map<string, number>();
  for (const p of closure?.paths ?? []) sizes.set(p.path, p.narSize);
  // A plan file knows the size of layers only: a one-path layer's is its path's.
  if (!closure) for (const l of plan.layers) if (l.paths.length === 1) sizes.set(l.paths[0]!, l.size);
  const strategy = input.pipeline ? 'pipeline' : plan.strategy;
  const popularity = closure && strategy === 'popularity' ? popularityScores(closure) : undefined;
  const usersOf = closure ? layerUsers(closure) : undefined;
  const size = plan.layers.reduce((s, l) => s + l.size, 0);
  const roots = closure ? topLevel(closure).sort() : [];
  const layers = plan.layers.map((l, i): ReportLayer => {
    const paths = l.paths.map((path): ReportPath => ({
      path,
      size: sizes.get(path) ?? null,
      ...(popularity ? { popularity: popularity.get(path)! } : {}),
    }));
    if (paths.every((p) => p.size !== null)) paths.sort((a, b) => b.size! - a.size! || (a.path < b.path ? -1 : 1));
    const { usedBy, referencedBy } = usersOf ? usersOf(l.paths) : { usedBy: [], referencedBy: [] };
    return {
      index: i + 1,
      size: l.size,
      share: size === 0 ? 0 : l.size / size,
      paths,
      why: whyTogether(strategy, i === plan.layers.length - 1, paths, { usedBy, referencedBy }, roots),
      usedBy,
      referencedBy,
      sharedWith: sharedWith(i),
    };
  });
  // Unknown sizes (a plan file) leave no largest paths to name.
  const all = layers.flatMap((l) => l.paths.map((p) => ({ ...p, layer: l.index })));
  const largest = (all.every((p) => p.size !== null) ? all : [])
    .sort((a, b) => b.size! - a.size! || (a.path < b.path ? -1 : 1))
    .slice(0, LARGEST);
  return {
    name: input.name,
    label,
    strategy,
    storeDir: plan.storeDir,
    size,
    pathCount: plan.layers.reduce((s, l) => s + l.paths.length, 0),
    budget: { used: plan.layers.length + 1, max: plan.maxLayers },
    roots,
    layers,
    largest,
  };
}

/** Who needs a layer's paths: the top-level paths among their dependents, and the paths of other layers referring to them. */
function layerUsers(closure: Closure): (paths: string[]) => Pick<ReportLayer, 'usedBy' | 'referencedBy'> {
  const g = indexClosure(closure);
  const seen = new Uint8Array(g.names.length);
  return (paths) => {
    const start = paths.map((p) => g.index.get(p)!);
    const inLayer = new Set(start);
    const referrers = [...new Set(start.flatMap((i) => g.parents[i]!))].filter((i) => !inLayer.has(i));
    referrers.sort((a, b) => g.sizes[b]! - g.sizes[a]! || (g.names[a]! < g.names[b]! ? -1 : 1));
    seen.fill(0);
    for (const i of start) seen[i] = 1;
    const usedBy = [...start, ...reach(start, g.parents, seen, 1)].filter((i) => g.parents[i]!.length === 0).map((i) => g.names[i]!).sort();
    return { usedBy, referencedBy: referrers.map((i) => g.names[i]!) };
  };
}

/** The strategy's reason for the layer, then who needs it. */
function whyTogether(strategy: ReportImage['strategy'], last: boolean, paths: ReportPath[], users: Pick<ReportLayer, 'usedBy' | 'referencedBy'>, roots: string[]): string {
  const { usedBy, referencedBy } = users;
  const alone = paths.length === 1;
  const pops = paths.map((p) => p.popularity).filter((p): p is number => p !== undefined);
  let reason: string;
  switch (strategy) {
    case 'popularity':
      reason = alone
        ? `popular enough for a layer of its own${pops.length ? ` (popularity ${pops[0]})` : ''}`
        : `the least popular paths${pops.length ? ` (popularity ${Math.max(...pops)} to ${Math.min(...pops)})` : ''}, together in the last layer the budget leaves`;
      break;
    case 'size':
      reason = alone && !last ? 'one of the largest paths, in a layer of its own' : 'the smaller paths, together in the last layer the budget leaves';
      break;
    case 'shared': {
      const tops = new Set(roots);
      if (last && tops.size > 0 && paths.every((p) => tops.has(p.path))) reason = 'the top-level paths, alone on top: an application update re-ships only this layer';
      else reason = alone ? 'a layer of its own: grouping it with others would cost more re-pulled bytes on library updates' : 'paths whose closures nearly match, grouped: a library update re-ships few unchanged bytes with them';
      break;
    }
    case 'auto':
      reason = alone ? 'a large path (a primary) or the only dependency of its users' : 'dependencies used by the same large paths (primaries), grouped';
      break;
    case 'pipeline':
      reason = 'as the --layering-pipeline steps group them';
      break;
  }
  // What auto-layer groups by: name the paths that use the layer.
  if ((strategy === 'auto' || strategy === 'shared') && referencedBy.length > 0) {
    reason += `; referenced by ${firstFew(referencedBy.map(shortName))}`;
  }
  // With one top-level path, it needs every layer: nothing to tell.
  if (roots.length < 2) return reason;
  const needed =
    usedBy.length === roots.length ? `every top-level path (${roots.length})` : usedBy.length > 5 ? `${usedBy.length} of the ${roots.length} top-level paths` : usedBy.map(shortName).join(', ');
  return `${reason}; needed by ${needed}`;
}

function labelOf(name: string, storeDir: string): string {
  const trimmed = name.replace(/\/+$/, '');
  return trimmed.startsWith(storeDir + '/') ? shortName(trimmed) : trimmed.slice(trimmed.lastIndexOf('/') + 1) || trimmed;
}

function uniqueLabels(labels: string[]): string[] {
  return labels.map((l, i) => (labels.indexOf(l) === labels.lastIndexOf(l) ? l : `${l} (${i + 1})`));
}

function sharing(images: ReportImage[], keys: string[][]): Sharing {
  const held = new Map<string, { size: number; paths: string[]; images: string[] }>();
  images.forEach((img, k) =>
    img.layers.forEach((l, i) => {
      const key = keys[k]![i]!;
      const entry = held.get(key) ?? held.set(key, { size: l.size, paths: key.split('\n'), images: [] }).get(key)!;
      if (!entry.images.includes(img.label)) entry.images.push(img.label);
    }),
  );
  const matrix = images.map((a, i) =>
    images.map((_, j) => (i === j ? a.size : [...new Set(keys[i])].filter((key) => keys[j]!.includes(key)).reduce((s, key) => s + held.get(key)!.size, 0))),
  );
  const total = images.reduce((s, img) => s + img.size, 0);
  const stored = [...held.values()].reduce((s, l) => s + l.size, 0);
  const layers = [...held.values()].filter((l) => l.images.length > 1).sort((a, b) => b.size - a.size || (a.paths[0]! < b.paths[0]! ? -1 : 1));
  return { layers, matrix, total, stored, saved: total - stored };
}
