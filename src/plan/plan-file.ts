import { readFile } from 'node:fs/promises';
import { StrataError } from '../errors.js';
import { firstFew, humanSize } from '../util/text.js';
import { type Plan, type PlannedLayer, STRATEGIES, type Strategy } from './plan.js';

/** A plan as JSON: the layers first, so the file reads top-down. */
export function planToJson(plan: Plan): string {
  const totalSize = plan.layers.reduce((s, l) => s + l.size, 0);
  const paths = plan.layers.reduce((s, l) => s + l.paths.length, 0);
  return JSON.stringify({ layers: plan.layers, strategy: plan.strategy, maxLayers: plan.maxLayers, storeDir: plan.storeDir, paths, totalSize }, null, 2) + '\n';
}

/** Read a plan written by `strata plan --format json`. */
export async function readPlanFile(file: string): Promise<Plan> {
  let data: Record<string, unknown>;
  try {
    data = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new StrataError(`${file}: cannot read plan (${(e as Error).message}); write one with strata plan --format json`);
  }
  const layers = data.layers;
  const ok = Array.isArray(layers) && layers.every((l: PlannedLayer) => Array.isArray(l?.paths) && l.paths.every((p) => typeof p === 'string') && typeof l.size === 'number');
  if (!ok) throw new StrataError(`${file}: field 'layers' must be a list of {paths: [store paths], size: bytes}`);
  // Plans from before strata recorded a strategy were made by popularity.
  const strategy = data.strategy === undefined ? 'popularity' : (data.strategy as Strategy);
  if (!(STRATEGIES as readonly unknown[]).includes(strategy)) {
    throw new StrataError(`${file}: field 'strategy' is ${JSON.stringify(data.strategy)}, not one of ${STRATEGIES.join(', ')}; write the plan with strata plan --format json`);
  }
  const maxLayers = typeof data.maxLayers === 'number' ? data.maxLayers : layers.length + 1;
  const first = (layers as PlannedLayer[])[0]?.paths[0];
  const storeDir = typeof data.storeDir === 'string' ? data.storeDir : first ? first.slice(0, first.lastIndexOf('/')) : '/nix/store';
  // A plan names store paths themselves: one name each, right under the store directory.
  const prefix = storeDir + '/';
  for (const [i, layer] of (layers as PlannedLayer[]).entries()) {
    const bad = layer.paths.find((p) => !p.startsWith(prefix) || p.length === prefix.length || p.includes('/', prefix.length) || p.endsWith('/.') || p.endsWith('/..'));
    if (bad !== undefined) throw new StrataError(`${file}: layer ${i + 1}: '${bad}' is not a store path in ${storeDir}; write the plan with strata plan --format json`);
  }
  return { layers: layers as PlannedLayer[], strategy, maxLayers, storeDir };
}

/** A plan for people: one line a layer, largest path first. */
export function planToText(plan: Plan): string {
  const lines = plan.layers.map((l, i) => {
    const names = l.paths.map((p) => p.slice(plan.storeDir.length + 1));
    const shown = firstFew(names, ' ');
    return `${String(i + 1).padStart(3)}  ${humanSize(l.size).padStart(10)}  ${shown}`;
  });
  const total = plan.layers.reduce((s, l) => s + l.size, 0);
  const count = plan.layers.reduce((s, l) => s + l.paths.length, 0);
  lines.push(
    `${count} store paths, ${humanSize(total)} in ${plan.layers.length} store layers ` +
      `(max ${plan.maxLayers} layers with the customisation layer; strategy ${plan.strategy})`,
  );
  return lines.join('\n') + '\n';
}
