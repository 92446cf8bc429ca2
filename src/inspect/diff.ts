import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { startsWithBrace } from '../util/json-file.js';
import { loadClosure } from '../closure/stores/table.js';
import { parseConf } from '../conf/conf.js';
import { StrataError } from '../errors.js';
import { inspectImage } from './inspect.js';
import { readPlanFile } from '../plan/plan-file.js';
import { firstFew, humanSize } from '../util/text.js';
import { layerKey } from '../plan/layer-key.js';
import { shortName } from '../closure/store-path.js';

/**
 * `strata diff OLD NEW`: which layers of NEW a host or registry holding OLD
 * already has. Plans and confs name their layers by store paths, so a layer
 * is kept when NEW has one with exactly the same paths; images name theirs
 * by digest, so two images (or an image and a conf with digests) match
 * layers by diff_id. The store paths are compared too, whatever the layers.
 */
export interface Diff {
  old: DiffSide;
  new: DiffSide;
  /** How layers were matched. */
  matchedBy: 'digest' | 'paths';
  layers: { kept: DiffLayer[]; added: DiffLayer[]; removed: DiffLayer[] };
  /** Store paths of NEW not in OLD and the other way; null when a side names none (an image without strata's history). */
  paths: { added: string[]; removed: string[]; kept: number } | null;
  /** Bytes a pull (or push) of NEW moves when OLD is there: its added layers, each once; null when a size is unknown. */
  transfer: number | null;
  /** Bytes of NEW's layers already there. */
  reused: number | null;
}

interface DiffSide {
  name: string;
  kind: 'plan' | 'conf' | 'image';
  layers: DiffLayer[];
  /** null when a layer's size is unknown (a conf without digests whose paths are not in this store). */
  size: number | null;
}

interface DiffLayer {
  /** 1 for the bottom layer of its image. */
  index: number;
  paths: string[];
  /** Bytes: NAR sizes for a plan, tar sizes for a conf's digests, blob sizes as stored for an image. */
  size: number | null;
  /** The layer's diff_id, when known. */
  digest: string | null;
}

/** What `strata diff` takes: two plans, confs or images (any mix). */
export interface DiffOptions {
  old: string;
  new: string;
}

/** Compare two plans, confs or images: `strata diff`. */
export async function diffImages(options: DiffOptions): Promise<Diff> {
  const [a, b] = [await readSide(options.old), await readSide(options.new)];
  const digests = (a.kind === 'image' || b.kind === 'image') && [...a.layers, ...b.layers].every((l) => l.digest !== null);
  // A layer naming no store paths (an image's customisation or base layer) matches by digest only.
  const key = (l: DiffLayer): string => (digests || l.paths.length === 0 ? l.digest ?? `#${l.index}` : layerKey(l.paths));
  const oldKeys = new Set(a.layers.map(key));
  const newKeys = new Set(b.layers.map(key));
  const kept = b.layers.filter((l) => oldKeys.has(key(l)));
  const added = b.layers.filter((l) => !oldKeys.has(key(l)));
  const removed = a.layers.filter((l) => !newKeys.has(key(l)));
  const bytes = (layers: DiffLayer[]): number | null => {
    const once = new Map(layers.map((l) => [key(l), l.size]));
    return [...once.values()].reduce<number | null>((s, v) => (s === null || v === null ? null : s + v), 0);
  };
  const named = (side: DiffSide): boolean => side.layers.some((l) => l.paths.length > 0);
  let paths: Diff['paths'] = null;
  if (named(a) && named(b)) {
    const before = new Set(a.layers.flatMap((l) => l.paths));
    const after = new Set(b.layers.flatMap((l) => l.paths));
    paths = {
      added: [...after].filter((p) => !before.has(p)).sort(),
      removed: [...before].filter((p) => !after.has(p)).sort(),
      kept: [...after].filter((p) => before.has(p)).length,
    };
  }
  return { old: a, new: b, matchedBy: digests ? 'digest' : 'paths', layers: { kept, added, removed }, paths, transfer: bytes(added), reused: bytes(kept) };
}

/** A plan file, a conf.json (both JSON objects) or anything `strata inspect` reads. */
async function readSide(name: string): Promise<DiffSide> {
  if (await startsWithBrace(name)) {
    const text = await readFile(name, 'utf8');
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch (e) {
      throw new StrataError(`${name}: not JSON (${(e as Error).message}); expected a plan (strata plan --format json), a conf.json or an image`);
    }
    if (data !== null && typeof data === 'object' && 'store_layers' in data) return confSide(name, text);
    if (data !== null && typeof data === 'object' && 'layers' in data) {
      const plan = await readPlanFile(name);
      return side(name, 'plan', plan.layers.map((l, i) => ({ index: i + 1, paths: l.paths, size: l.size, digest: null })));
    }
    throw new StrataError(`${name}: a JSON object with neither 'layers' (a plan) nor 'store_layers' (a conf.json); expected a plan, a conf or an image`);
  }
  const image = await inspectImage({ image: name });
  return side(name, 'image', image.layers.map((l) => ({ index: l.index, paths: l.storePaths, size: l.size, digest: l.diffId })));
}

async function confSide(name: string, text: string): Promise<DiffSide> {
  const conf = parseConf(text, name);
  const digests = conf.store_layer_digests;
  let sizes: Map<string, number> | undefined;
  const all = conf.store_layers.flat();
  // Without digests, the NAR sizes of the store paths, when this store holds them.
  if (!digests && all.length > 0 && all.every((p) => existsSync(p))) {
    sizes = new Map((await loadClosure({ roots: all, storeDir: conf.store_dir })).paths.map((p) => [p.path, p.narSize]));
  }
  return side(
    name,
    'conf',
    conf.store_layers.map((paths, i) => ({
      index: i + 1,
      paths,
      size: digests ? digests[i]!.size : sizes ? paths.reduce((s, p) => s + sizes.get(p)!, 0) : null,
      digest: digests ? digests[i]!.digest : null,
    })),
  );
}

function side(name: string, kind: DiffSide['kind'], layers: DiffLayer[]): DiffSide {
  const size = layers.reduce<number | null>((s, l) => (s === null || l.size === null ? null : s + l.size), 0);
  return { name, kind, layers, size };
}

const sizeText = (v: number | null): string => (v === null ? 'size unknown' : humanSize(v));

/** The diff for people. */
export function diffToText(d: Diff): string {
  const head = (label: string, s: DiffSide): string => `${label}  ${s.name} (${s.kind}, ${s.layers.length} layers, ${sizeText(s.size)})`;
  const names = (l: DiffLayer): string => {
    if (l.paths.length === 0) return l.digest ?? '';
    return firstFew(l.paths.map(shortName));
  };
  const row = (what: string, l: DiffLayer): string => `  ${what.padEnd(8)} ${String(l.index).padStart(4)}  ${sizeText(l.size).padStart(12)}  ${names(l)}`;
  const { kept, added, removed } = d.layers;
  const lines = [
    head('old', d.old),
    head('new', d.new),
    '',
    `layers (matched by ${d.matchedBy === 'digest' ? 'digest' : 'exact set of store paths'}): ${kept.length} kept, ${added.length} added, ${removed.length} removed`,
    ...kept.map((l) => row('kept', l)),
    ...added.map((l) => row('added', l)),
    ...removed.map((l) => row('removed', l)),
  ];
  if (d.paths) {
    lines.push('', `store paths: ${d.paths.kept} kept, ${d.paths.added.length} added, ${d.paths.removed.length} removed`);
    lines.push(...d.paths.added.map((p) => `  + ${p}`), ...d.paths.removed.map((p) => `  - ${p}`));
  }
  lines.push(
    '',
    d.transfer === null
      ? `pull or push of new after old: ${added.length} layer(s), size unknown (a conf without digests whose paths this store lacks: write it with strata conf --digests)`
      : `pull or push of new after old: ${humanSize(d.transfer)} (${d.transfer} bytes) in ${added.length} layer(s); ${sizeText(d.reused)} of ${sizeText(d.new.size)} already there`,
  );
  return lines.join('\n') + '\n';
}
