import { realpath } from 'node:fs/promises';
import { type ClosureSource, loadClosure } from '../closure/stores/table.js';
import type { Closure } from '../closure/types.js';
import { goArch } from '../conf/from-plan.js';
import { type LayerBytes, layerBytesKey, readReuse } from '../conf/reuse-ref.js';
import { readPipeline } from '../plan/pipeline.js';
import { type Plan, type Strategy } from '../plan/plan.js';
import { planReusing } from '../plan/reuse.js';
import { readPlanFile } from '../plan/plan-file.js';
import { countBaseLayers } from './base-image.js';
import type { SourceOptions } from '../formats/table.js';

/** How a closure is planned into layers: what `strata plan` takes. */
export interface PlanningOptions {
  /** Layers in the image, counting the customisation layer (default DEFAULT_MAX_LAYERS). */
  maxLayers?: number;
  strategy?: Strategy;
  /** Explicit layers, bottom first: store paths (or links to them, or paths inside them). */
  layers?: string[][];
  /** nixpkgs' layeringPipeline: a file, or JSON text. */
  layeringPipeline?: string;
  /** A base image, whose layers count against maxLayers. */
  from?: string;
  /** How docker:// images (the base, --reuse's) are reached (credentials, TLS); default: the auth files. */
  base?: SourceOptions;
  /** The platform whose image to take from a multi-platform base (default linux and this machine's). */
  os?: string;
  architecture?: string;
  variant?: string;
  /**
   * Layers shipped before (plan files or confs, first wins): each is kept where
   * all its paths are in the closure, and the rest is planned around them.
   */
  reuse?: string[];
  warn?(message: string): void;
}

/** How the image will write its store layers: a reused conf layer is kept only if it was written the same way. */
type LayerWriting = Omit<LayerBytes, 'store_dir'>;

export interface PlanImageOptions extends ClosureSource, PlanningOptions {
  /** A plan written by `strata plan --format json`, used instead of planning. */
  plan?: string;
}

/** The layers of an image: a plan file, or the closure planned (`onClosure` sees the closure loaded). */
export async function planImage(options: PlanImageOptions, writing?: LayerWriting, onClosure?: (closure: Closure) => void): Promise<Plan> {
  if (options.plan !== undefined) return readPlanFile(options.plan);
  const closure = await loadClosure(options);
  onClosure?.(closure);
  return planClosure(closure, options, writing);
}

/** Plan a closure (base image layers and explicit layers counted in). */
export async function planClosure(closure: Closure, options: PlanningOptions, writing?: LayerWriting): Promise<Plan> {
  const platform = { os: options.os ?? 'linux', architecture: options.architecture ?? goArch(process.arch), ...(options.variant === undefined ? {} : { variant: options.variant }) };
  const baseLayers = options.from === undefined ? 0 : await countBaseLayers(options.from, platform, options.base);
  const layers = await Promise.all((options.layers ?? []).map((group) => Promise.all(group.map((p) => inStore(p, closure.storeDir)))));
  const pipeline = options.layeringPipeline === undefined ? undefined : await readPipeline(options.layeringPipeline);
  const reuse = await Promise.all((options.reuse ?? []).map((f) => readReuse(f, options.warn, options.base)));
  const layerOptions = writing && ((paths: readonly string[]) => layerBytesKey({ ...writing, store_dir: closure.storeDir }, paths));
  return planReusing(closure, { maxLayers: options.maxLayers, strategy: options.strategy, baseLayers, layers, pipeline, reuse, layerOptions });
}

/** A path as the store path it lies in: links resolved, a path inside a store path cut to it. */
async function inStore(entry: string, storeDir: string): Promise<string> {
  let p = entry.replace(/\/+$/, '');
  if (!p.startsWith(storeDir + '/')) p = await realpath(entry).catch(() => p);
  return p.startsWith(storeDir + '/') ? storeDir + '/' + p.slice(storeDir.length + 1).split('/')[0] : p;
}
