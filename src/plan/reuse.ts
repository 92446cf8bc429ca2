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
 * The share of the store-layer budget always left to the strategy when there
 * are new paths to plan. Kept layers beyond it are dissolved, smallest first:
 * without it, many releases or a large fleet fill the budget with kept
 * fragments and the new paths are crammed into one or two layers, which the
 * next release re-sends whole.
 */
const FRESH_SHARE = 0.25;
/**
 * Bytes a plan is expected to send again per unit of library-update cost
 * (layerCost): the weight that trades layers shared with other references
 * against layers that library updates re-send needlessly. Tuned on the
 * `dev` Debian fleet (bench/releases.mjs); 0.1 and 1 give within 4%.
 */
const Q = 0.3;
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
 * - where reused layers overlap, the earlier reference wins, then the larger
 *   layer (the bytes most worth not sending);
 * - kept layers take at most (1 - FRESH_SHARE) of the budget when new paths
 *   remain (and always leave two layers when more than the top-level paths
 *   remain, so the application stays alone on top): the smallest kept layers
 *   are dissolved first, fragments being cheap to send again and dear in slots;
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
  const first = withKept(keptLayers(closure, reuse.slice(0, 1), layerOptions, budget, 0));
  if (reuse.length <= 1) return first;
  const variants = [first, planLayers(closure, planOptions), withKept(keptLayers(closure, reuse, layerOptions, budget, 0)), withKept(keptLayers(closure, reuse, layerOptions, budget, LARGE))];
  const clo = closures(closure);
  const shipped = new Set(reuse.flatMap((layers) => layers.map((l) => layerKey(l.paths))));
  const score = (plan: Plan): number =>
    plan.layers.reduce((s, l) => s + Q * layerCost(l.paths, clo, info) + (shipped.has(layerKey(l.paths)) ? 0 : l.size), 0);
  const scores = variants.map(score);
  return variants[scores.indexOf(Math.min(...scores))]!;
}

/** The reused layers kept whole, by the policy of planReusing. */
function keptLayers(closure: Closure, reuse: ReusedLayer[][], layerOptions: ReuseOptions['layerOptions'], budget: number, minShare: number): string[][] {
  const info = byPath(closure);
  const size = (paths: string[]): number => paths.reduce((s, p) => s + info.get(p)!.narSize, 0);
  const seen = new Set<string>();
  const candidates: { paths: string[]; size: number; ref: number; at: number }[] = [];
  const floor = (minShare * closure.paths.reduce((s, p) => s + p.narSize, 0)) / Math.max(budget, 1);
  reuse.forEach((layers, ref) => layers.forEach((layer, at) => {
    if (layer.paths.length === 0 || !layer.paths.every((p) => info.has(p))) return;
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
  const tops = topLevelPaths(closure);
  // Dissolve the smallest kept layers until the strategy has its share of the budget.
  kept.sort((a, b) => b.size - a.size || order(a, b));
  while (kept.length > 0 && kept.length > budget - reserve(closure, kept, tops, budget)) kept.pop();
  return kept.sort(order).map((c) => c.paths);
}

/** Layers the strategy needs for what the kept layers leave. */
function reserve(closure: Closure, kept: { paths: string[] }[], tops: Set<string>, budget: number): number {
  const inKept = new Set(kept.flatMap((c) => c.paths));
  const left = closure.paths.filter((p) => !inKept.has(p.path));
  if (left.length === 0) return 0;
  const onlyTops = left.every((p) => tops.has(p.path));
  return Math.max(onlyTops ? 1 : 2, Math.ceil(budget * FRESH_SHARE));
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

