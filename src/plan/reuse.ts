import { byPath } from '../closure/graph.js';
import type { Closure } from '../closure/types.js';
import { layerKey } from './layer-key.js';
import { topLevel } from './simulate.js';
import { DEFAULT_MAX_LAYERS, DEFAULT_STRATEGY, type Plan, type PlanOptions, planLayers } from './plan.js';

/**
 * A layer shipped before: its store paths and, when the reference knows
 * them, the options that make its tar bytes (a canonical string; see
 * `layerBytesKey`). Plans know no options (`undefined`: the paths alone
 * decide); confs do, and images will (their layer keys).
 */
export interface ReusedLayer {
  paths: string[];
  options?: string;
}

interface ReuseOptions extends PlanOptions {
  /** Layers of earlier plans, confs or images: one list per reference, in the order given. */
  reuse?: ReusedLayer[][];
  /** The options key the new image gives a layer of these paths; none: options are not compared. */
  layerOptions?(paths: readonly string[]): string;
}

/**
 * A reference whose layers, kept whole, hold at least this share of the
 * closure's bytes is taken for this image's previous release (a lock file,
 * the last push): its untouched layers are all kept. Below it (other images
 * of a fleet, or a release that changed much), keeping is weighed against
 * the strategy alone. At 0.5 and 0.8, images of a fleet that share most of
 * their bytes were taken for releases of one another and kept fragments cut
 * for another closure (bench/fleet.mjs, bench/releases.mjs).
 */
const RELEASE = 0.95;
/**
 * Library updates expected per library of the fleet over the images' life:
 * a plan's library-update cost (layerCost, summed over every path as the
 * library) is weighed at UPDATES / (paths the closure and the references
 * name) bytes per unit against the bytes it stores anew (bench/fleet.mjs
 * applies 40 library updates to fleets of a few hundred to a thousand paths).
 */
const UPDATES = 40;
/** Layers of later references below this share of an average layer are left out in one of the variants tried. */
const LARGE = 1;

/**
 * Plan a closure against layers shipped before. A reused layer whose paths
 * are all in the closure (and whose options, where both sides know them,
 * match) is kept as it was, so its bytes are identical and nothing of it is
 * sent again. The rest of the closure is planned by the strategy in the
 * layers left. Policy (measured in bench/releases.mjs):
 *
 * - a reused layer that lost any path is dissolved: it cannot be identical,
 *   and its surviving paths are planned again with the new ones;
 * - a reused layer that holds the closure's top-level paths with others is
 *   never kept: the application stays alone on top, or every application
 *   release re-sends the libraries beside it;
 * - the reference holding most of the closure's bytes in whole layers is
 *   taken for the image's previous release when it holds RELEASE of them:
 *   its untouched layers are kept, whatever the other references hold (its
 *   users have them; another image's layer would be pulled again);
 * - otherwise (a fleet: images before this one) three plans are weighed:
 *   the strategy alone; every reusable layer kept (earlier reference first,
 *   then the larger layer, overlaps dissolved); and the same without later
 *   references' layers below an average layer's bytes (fragments). The one
 *   with the least bytes stored anew plus expected library-update bytes
 *   (UPDATES) wins: a reused layer is kept where the bytes it saves exceed
 *   what it costs the image's library updates, by the closure's graph;
 * - kept layers leave at least two layers to the strategy when more than the
 *   top-level paths remain (one for the application, one for the rest), the
 *   smallest kept layers dissolved first: fragments are cheap to send again
 *   and dear in slots. A larger share left to the strategy (a quarter) re-cut
 *   untouched layers at every release and re-sent them (bench/releases.mjs);
 * - a path left without a parent outside the kept layers is planned as a
 *   dependency of the closure's top-level paths, not as an application of its
 *   own: otherwise a strategy that gives the top-level paths their own layer
 *   would re-send it with every application release.
 *
 * Kept layers come first (bottom), in reference order; the strategy's layers
 * follow. Without reusable layers the plan is exactly the strategy's.
 */
export function planReusing(closure: Closure, options: ReuseOptions): Plan {
  const { reuse = [], layerOptions, ...planOptions } = options;
  const maxLayers = planOptions.maxLayers ?? DEFAULT_MAX_LAYERS;
  const budget = maxLayers - 1 - (planOptions.baseLayers ?? 0) - (planOptions.layers?.length ?? 0);
  const info = byPath(closure);
  const withKept = (kept: string[][]): Plan => {
    if (kept.length === 0) return planLayers(closure, planOptions);
    const rest = restClosure(closure, new Set(kept.flat()));
    const planned = rest.paths.length === 0 ? [] : planLayers(rest, { ...planOptions, maxLayers: maxLayers - kept.length }).layers;
    const layers = [...kept.map((paths) => ({ paths, size: paths.reduce((s, p) => s + info.get(p)!.narSize, 0) })), ...planned];
    return { storeDir: closure.storeDir, strategy: planOptions.strategy ?? DEFAULT_STRATEGY, maxLayers, layers };
  };
  if (reuse.length === 0) return planLayers(closure, planOptions);
  const own = ownReference(reuse, info);
  const total = closure.paths.reduce((t, p) => t + p.narSize, 0);
  if (heldBy(reuse[own]!, info) >= RELEASE * total) return withKept(keptLayers(closure, [reuse[own]!], layerOptions, budget, 0));
  const variants = [planLayers(closure, planOptions), withKept(keptLayers(closure, reuse, layerOptions, budget, 0)), withKept(keptLayers(closure, reuse, layerOptions, budget, LARGE))];
  const clo = closures(closure);
  const shipped = new Set(reuse.flatMap((layers) => layers.map((l) => layerKey(l.paths))));
  const q = UPDATES / new Set([...closure.paths.map((p) => p.path), ...reuse.flat().flatMap((l) => l.paths)]).size;
  const score = (plan: Plan): number => plan.layers.reduce((s, l) => s + q * layerCost(l.paths, clo, info) + (shipped.has(layerKey(l.paths)) ? 0 : l.size), 0);
  const scores = variants.map(score);
  return variants[scores.indexOf(Math.min(...scores))]!;
}

/**
 * The reference taken for this image's previous release: the one whose
 * layers, kept whole, hold most of the closure's bytes (the first on a tie).
 * Its users hold its layers, so what it lacks is pulled again.
 */
function ownReference(reuse: ReusedLayer[][], info: Map<string, { narSize: number }>): number {
  const held = reuse.map((layers) => heldBy(layers, info));
  return held.indexOf(Math.max(...held));
}

/** The closure's bytes in the layers of a reference that it holds whole. */
function heldBy(layers: ReusedLayer[], info: Map<string, { narSize: number }>): number {
  return layers.reduce((s, l) => s + (l.paths.length > 0 && l.paths.every((p) => info.has(p)) ? l.paths.reduce((t, p) => t + info.get(p)!.narSize, 0) : 0), 0);
}

/** The reused layers kept whole, by the policy of planReusing. */
function keptLayers(closure: Closure, reuse: ReusedLayer[][], layerOptions: ReuseOptions['layerOptions'], budget: number, minShare: number): string[][] {
  const info = byPath(closure);
  const size = (paths: string[]): number => paths.reduce((s, p) => s + info.get(p)!.narSize, 0);
  const tops = topLevelPaths(closure);
  const seen = new Set<string>();
  const candidates: { paths: string[]; size: number; ref: number; at: number }[] = [];
  const floor = (minShare * closure.paths.reduce((s, p) => s + p.narSize, 0)) / Math.max(budget, 1);
  reuse.forEach((layers, ref) => layers.forEach((layer, at) => {
    if (layer.paths.length === 0 || !layer.paths.every((p) => info.has(p))) return;
    // The application stays alone on top: a layer mixing it with libraries is re-sent with every release.
    if (layer.paths.some((p) => tops.has(p)) && !layer.paths.every((p) => tops.has(p))) return;
    if (layer.options !== undefined && layerOptions !== undefined && layer.options !== layerOptions(layer.paths)) return;
    const key = [...layer.paths].sort().join('\n');
    if (seen.has(key)) return;
    if (ref > 0 && size(layer.paths) < floor) return;
    seen.add(key);
    candidates.push({ paths: layer.paths, size: size(layer.paths), ref, at });
  }));
  const order = (a: (typeof candidates)[number], b: (typeof candidates)[number]): number => a.ref - b.ref || a.at - b.at;
  candidates.sort((a, b) => a.ref - b.ref || b.size - a.size || a.at - b.at);
  const taken = new Set<string>();
  const kept = candidates.filter((c) => {
    if (c.paths.some((p) => taken.has(p))) return false;
    for (const p of c.paths) taken.add(p);
    return true;
  });
  // Dissolve the smallest kept layers until the strategy has the layers it needs.
  kept.sort((a, b) => b.size - a.size || order(a, b));
  while (kept.length > 0 && kept.length > budget - reserve(closure, kept, tops)) kept.pop();
  return kept.sort(order).map((c) => c.paths);
}

/** Layers the strategy needs for what the kept layers leave. */
function reserve(closure: Closure, kept: { paths: string[] }[], tops: Set<string>): number {
  const inKept = new Set(kept.flatMap((c) => c.paths));
  const left = closure.paths.filter((p) => !inKept.has(p.path));
  if (left.length === 0) return 0;
  return left.every((p) => tops.has(p.path)) ? 1 : 2;
}

const topLevelPaths = (closure: Closure): Set<string> => new Set(topLevel(closure));

/**
 * The closure less the kept paths. A path all of whose parents were kept
 * becomes a dependency of the remaining top-level paths (see planReusing).
 */
function restClosure(closure: Closure, taken: Set<string>): Closure {
  const tops = topLevelPaths(closure);
  const left = closure.paths.filter((p) => !taken.has(p.path));
  const hasParent = new Set<string>();
  for (const p of left) for (const r of p.references) if (r !== p.path && !taken.has(r)) hasParent.add(r);
  const orphans = left.filter((p) => !tops.has(p.path) && !hasParent.has(p.path)).map((p) => p.path);
  const adopt = left.some((p) => tops.has(p.path)) ? orphans : [];
  return {
    storeDir: closure.storeDir,
    paths: left.map((p) => ({ ...p, references: [...p.references.filter((r) => !taken.has(r)), ...(tops.has(p.path) ? adopt : [])] })),
  };
}

/** The layers of a plan as reusable layers (a plan file records no options). */
export function reusedFromPlan(plan: Pick<Plan, 'layers'>): ReusedLayer[] {
  return plan.layers.map((l) => ({ paths: l.paths }));
}

/** Each path's closure (itself included). */
function closures(closure: Closure): Map<string, Set<string>> {
  const info = byPath(closure);
  const memo = new Map<string, Set<string>>();
  const visit = (p: string): Set<string> => {
    let c = memo.get(p);
    if (c) return c;
    c = new Set([p]);
    memo.set(p, c);
    for (const r of info.get(p)!.references) if (r !== p) for (const q of visit(r)) c.add(q);
    return c;
  };
  for (const p of closure.paths) visit(p.path);
  return memo;
}

/**
 * What library updates cost a layer, as the shared strategy counts it: each
 * path is sent again for every path the layer's closure holds and its own does not.
 */
function layerCost(paths: string[], clo: Map<string, Set<string>>, info: Map<string, { narSize: number }>): number {
  const all = new Set<string>();
  for (const p of paths) for (const q of clo.get(p)!) all.add(q);
  return paths.reduce((s, p) => s + info.get(p)!.narSize * (all.size - clo.get(p)!.size), 0);
}

