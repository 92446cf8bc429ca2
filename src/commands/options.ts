import { realpath } from 'node:fs/promises';
import type { Argv } from 'yargs';
import { loadClosure } from '../closure/load.js';
import type { Closure } from '../closure/types.js';
import { goArch } from '../conf/from-plan.js';
import { StrataError } from '../errors.js';
import { countBaseLayers } from '../layer/base-image.js';
import { type LayerBytes, layerBytesKey, readReuse } from '../conf/reuse-ref.js';
import { DEFAULT_STRATEGY, type Plan, STRATEGIES, type Strategy } from '../plan/plan.js';
import { planReusing } from '../plan/reuse.js';
import { readPlanFile } from '../plan/plan-file.js';
import { readPipeline } from '../plan/pipeline.js';

// Options several commands share, and what they turn into: a closure, a plan.

export const warn = (m: string): void => void process.stderr.write(`strata: warning: ${m}\n`);

export const closureOptions = <T>(y: Argv<T>) =>
  y
    .positional('roots', { type: 'string', array: true, describe: 'store paths (or links to them) whose closure to use' })
    .option('graph', { type: 'string', describe: 'read the closure from a reference graph file (exportReferencesGraph text, .attrs.json, or a JSON list)' })
    .option('graph-key', { type: 'string', describe: 'the .attrs.json key holding the graph, when there are several' })
    .option('store-dir', { type: 'string', describe: 'the store directory (default: inferred from the paths, else /nix/store)' })
    .option('store', { choices: ['nix', 'guix'] as const, default: 'nix' as const, describe: 'which store to ask for the closure of the roots: nix-store, or guix gc' });

export const planOptions = <T>(y: Argv<T>) =>
  closureOptions(y)
    .option('max-layers', { type: 'number', default: 100, describe: 'layers in the image, counting the customisation layer (nixpkgs maxLayers)' })
    .option('strategy', { choices: STRATEGIES, default: DEFAULT_STRATEGY, describe: 'how store paths are grouped into layers: shared (strata: what updates re-ship least), popularity (nixpkgs, byte-compatible), auto (nixpkgs auto-layer), size (Guix)' })
    .option('layer', { type: 'string', array: true, describe: 'an explicit layer (repeatable, bottom first): comma-separated store paths whose closure, less earlier --layer layers, gets one layer below the planned ones' })
    .option('layering-pipeline', { type: 'string', describe: 'nixpkgs\' layeringPipeline (FILE or inline JSON): steps such as [["popularity_contest"], ["limit_layers", 50]] that make the store layers instead of --strategy' })
    .option('reuse', { type: 'string', array: true, describe: 'layers shipped before, kept where all their paths are in the closure (repeatable, first wins): a plan from strata plan --format json (a layer lock file: --reuse layers.json -o layers.json) or a conf.json' })
    .option('from', { type: 'string', describe: 'base image: docker-archive:FILE, oci:DIR[:REF], oci-archive:FILE[:REF], or a path (plain or compressed archive, layout directory); its layers count against --max-layers' });

export type ClosureArgs = { roots?: string[]; graph?: string; 'graph-key'?: string; 'store-dir'?: string; store?: 'nix' | 'guix' };

export async function closureFrom(a: ClosureArgs): Promise<Closure> {
  return loadClosure({ roots: a.roots, graph: a.graph, graphKey: a['graph-key'], storeDir: a['store-dir'], store: a.store, warn });
}

type BaseArgs = { from?: string; os?: string; architecture?: string; variant?: string };

/** What planClosure reads. */
export type PlanningArgs = BaseArgs & { 'max-layers': number; strategy: Strategy; layer?: string[]; 'layering-pipeline'?: string; reuse?: string[] };

export type PlanArgs = ClosureArgs & PlanningArgs & { plan?: string };

/** --layer values: comma-separated paths, links resolved, paths inside a store path cut to it. */
async function layerGroups(values: string[] | undefined, storeDir: string): Promise<string[][]> {
  const groups: string[][] = [];
  for (const value of values ?? []) {
    const group: string[] = [];
    for (const entry of value.split(',').map((e) => e.trim()).filter((e) => e !== '')) {
      let p = entry.replace(/\/+$/, '');
      if (!p.startsWith(storeDir + '/')) p = await realpath(entry).catch(() => p);
      if (p.startsWith(storeDir + '/')) p = storeDir + '/' + p.slice(storeDir.length + 1).split('/')[0];
      group.push(p);
    }
    if (group.length === 0) throw new StrataError(`--layer '${value}': name at least one store path`);
    groups.push(group);
  }
  return groups;
}

export async function planFrom(a: PlanArgs, bytes?: Omit<LayerBytes, 'store_dir'>): Promise<Plan> {
  if (a.plan !== undefined) return readPlanFile(a.plan);
  return planClosure(await closureFrom(a), a, bytes);
}

/** Plan a closure with the plan options (--max-layers, --strategy, --layer, --from, --reuse; `bytes`: how conf and image write layers). */
export async function planClosure(closure: Closure, a: PlanningArgs, bytes?: Omit<LayerBytes, 'store_dir'>): Promise<Plan> {
  const platform = { os: a.os ?? 'linux', architecture: a.architecture ?? goArch(process.arch), ...(a.variant === undefined ? {} : { variant: a.variant }) };
  const baseLayers = a.from === undefined ? 0 : await countBaseLayers(a.from, platform);
  const layers = await layerGroups(a.layer, closure.storeDir);
  const pipeline = a['layering-pipeline'] === undefined ? undefined : await readPipeline(a['layering-pipeline']);
  const reuse = await Promise.all((a.reuse ?? []).map((f) => readReuse(f, warn)));
  const layerOptions = bytes && ((paths: readonly string[]) => layerBytesKey({ ...bytes, store_dir: closure.storeDir }, paths));
  return planReusing(closure, { maxLayers: a['max-layers'], strategy: a.strategy, baseLayers, layers, pipeline, reuse, layerOptions });
}
