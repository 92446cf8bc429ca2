import { readFile } from 'node:fs/promises';
import { byPath, walk } from '../closure/graph.js';
import type { Closure, StorePathInfo } from '../closure/types.js';
import { StrataError } from '../errors.js';
import { popularityOrder } from './popularity.js';

/**
 * nixpkgs' layeringPipeline (pkgs/by-name/fl/flattenReferencesGraph): a JSON
 * list of steps, each `[name, ...arguments]`, applied in turn to the
 * closure's reference graph. A step takes and gives a graph, a list of
 * values, or named parts (`main`, `common`, `rest`); the final value is
 * flattened into layers, bottom first.
 */
export type Pipeline = unknown[];

/** A subgraph: its paths in graph order and the references among them. */
interface Graph {
  kind: 'graph';
  paths: string[];
  refs: Map<string, Set<string>>;
  /** The closure it comes from (NAR sizes, store directory). */
  closure: ClosureIndex;
}
interface ClosureIndex {
  storeDir: string;
  info: Map<string, StorePathInfo>;
}
/** What split_paths and subcomponent_* give: named parts, in nixpkgs' key order. */
interface Parts {
  kind: 'parts';
  parts: [string, Value][];
}
type Value = Graph | Parts | Value[];
type Step = (v: Value) => Value;

const PIPELINE_STEPS = [
  'popularity_contest', 'subcomponent_in', 'subcomponent_out', 'split_paths', 'split_every',
  'limit_layers', 'remove_paths', 'over', 'map', 'flatten', 'reverse', 'pipe',
] as const;

/** --layering-pipeline FILE|JSON: a JSON list of steps, from a file or given inline. */
export async function readPipeline(value: string): Promise<Pipeline> {
  const inline = value.trimStart().startsWith('[');
  let data: unknown;
  try {
    data = JSON.parse(inline ? value : await readFile(value, 'utf8'));
  } catch (e) {
    throw new StrataError(`--layering-pipeline ${inline ? 'JSON' : value}: cannot read it (${(e as Error).message}); give a JSON list of steps such as [["popularity_contest"], ["limit_layers", 100]]`);
  }
  compile(data, `${inline ? 'JSON' : value}: pipeline`);
  return data as Pipeline;
}

/**
 * The store layers a pipeline makes of a closure, bottom first. Layers it
 * leaves empty are dropped (nixpkgs would write them as layers holding only
 * the store directory); paths it removes are not in the image, as in nixpkgs.
 */
export function pipelineLayers(pipeline: Pipeline, closure: Closure): string[][] {
  const run = compile(pipeline, 'pipeline');
  // nixpkgs builds its graph with the paths in ascending NAR size (a stable sort, as JavaScript's).
  const paths = [...closure.paths].sort((a, b) => a.narSize - b.narSize);
  const inClosure = new Set(paths.map((p) => p.path));
  const graph: Graph = {
    kind: 'graph',
    paths: paths.map((p) => p.path),
    refs: new Map(paths.map((p) => [p.path, new Set(p.references.filter((r) => r !== p.path && inClosure.has(r)))])),
    closure: { storeDir: closure.storeDir, info: byPath(closure) },
  };
  return flatten(run(graph)).map((g) => g.paths).filter((l) => l.length > 0);
}

function fail(where: string, what: string): never {
  throw new StrataError(`--layering-pipeline ${where}: ${what}`);
}

/** Check a step (or the list of steps) once and turn it into a function. */
function compile(data: unknown, where: string): Step {
  if (!Array.isArray(data)) fail(where, 'expected a list of steps, each a list [name, ...arguments]');
  const steps = data.map((s, i) => compileStep(s, `${where}[${i}]`));
  return (v) => steps.reduce((acc, step) => step(acc), v);
}

function compileStep(step: unknown, where: string): Step {
  if (!Array.isArray(step) || typeof step[0] !== 'string') fail(where, `expected a step [name, ...arguments], found ${JSON.stringify(step)}`);
  const [name, ...args] = step as [string, ...unknown[]];
  const arity = (n: number): void => {
    if (args.length !== n) fail(where, `${name} takes ${n} argument(s), found ${args.length}`);
  };
  const at = `${where} ${name}`;
  switch (name) {
    case 'popularity_contest':
      arity(0);
      return (v) => popularityContest(asGraph(v, at));
    case 'subcomponent_in':
    case 'subcomponent_out': {
      arity(1);
      const targets = pathList(args[0], at, false);
      return (v) => subcomponent(asGraph(v, at), targets, name === 'subcomponent_in' ? 'in' : 'out');
    }
    case 'split_paths': {
      arity(1);
      const specs = splitSpecs(args[0], at);
      return (v) => splitPaths(asGraph(v, at), specs);
    }
    case 'split_every': {
      arity(1);
      const n = positive(args[0], at);
      return (v) => {
        const g = asGraph(v, at);
        const chunks: Value[] = [];
        for (let i = 0; i < g.paths.length; i += n) chunks.push(induced(g, new Set(g.paths.slice(i, i + n))));
        return chunks;
      };
    }
    case 'limit_layers': {
      arity(1);
      const n = positive(args[0], at);
      return (v) => limitLayers(asList(v, at), n, at);
    }
    case 'remove_paths': {
      arity(1);
      const removed = new Set(pathList(args[0], at, true));
      return (v) => {
        const g = asGraph(v, at);
        return induced(g, new Set(g.paths.filter((p) => !removed.has(p))));
      };
    }
    case 'over': {
      arity(2);
      const key = args[0];
      if (typeof key !== 'string') fail(at, `the first argument names a part (main, common, rest), found ${JSON.stringify(key)}`);
      const inner = compileStep(args[1], `${where}[2]`);
      return (v) => {
        if (Array.isArray(v) || v.kind !== 'parts') fail(at, `applies to the parts split_paths or subcomponent_* give, not to a ${describe(v)}`);
        const i = v.parts.findIndex(([k]) => k === key);
        if (i < 0) fail(at, `the previous step gave no '${key}' part (it gave: ${v.parts.map(([k]) => k).join(', ') || 'none'})`);
        const parts = [...v.parts];
        parts[i] = [key, inner(parts[i]![1])];
        return { kind: 'parts', parts };
      };
    }
    case 'map': {
      arity(1);
      const inner = compileStep(args[0], `${where}[1]`);
      return (v) => asList(v, at).map(inner);
    }
    case 'flatten':
      arity(0);
      return (v) => flatten(v);
    case 'reverse':
      arity(0);
      return (v) => [...asList(v, at)].reverse();
    case 'pipe':
      arity(1);
      return compile(args[0], `${where}[1]`);
    default:
      return fail(where, `unknown step '${name}'; the steps are ${PIPELINE_STEPS.join(', ')}`);
  }
}

function describe(v: Value): string {
  return Array.isArray(v) ? 'list' : v.kind === 'graph' ? 'graph' : 'set of parts';
}

function asGraph(v: Value, at: string): Graph {
  if (Array.isArray(v) || v.kind !== 'graph') fail(at, `applies to a graph, not to a ${describe(v)}; use over or map to reach the graphs`);
  return v;
}

function asList(v: Value, at: string): Value[] {
  if (!Array.isArray(v)) fail(at, `applies to a list, not to a ${describe(v)}; use flatten first`);
  return v;
}

function positive(n: unknown, at: string): number {
  if (!Number.isInteger(n) || (n as number) <= 0) fail(at, `expected a whole number above 0, found ${JSON.stringify(n)}`);
  return n as number;
}

/** A list of store paths (remove_paths also takes a single one, as nixpkgs). */
function pathList(x: unknown, at: string, single: boolean): string[] {
  if (single && typeof x === 'string') return [x];
  if (!Array.isArray(x) || !x.every((p) => typeof p === 'string')) fail(at, `expected a list of store paths, found ${JSON.stringify(x)}`);
  return x as string[];
}

type SplitSpec = string | { childrenOf: string[] };

function splitSpecs(x: unknown, at: string): SplitSpec[] {
  if (!Array.isArray(x)) fail(at, `expected a list of store paths or {"children_of": paths}, found ${JSON.stringify(x)}`);
  return x.map((s) => {
    if (typeof s === 'string') return s;
    const keys = s !== null && typeof s === 'object' && !Array.isArray(s) ? Object.keys(s) : [];
    if (keys.length !== 1 || keys[0] !== 'children_of') fail(at, `expected a store path or {"children_of": paths}, found ${JSON.stringify(s)}`);
    const of = (s as { children_of: unknown }).children_of;
    return { childrenOf: pathList(of, at, true) };
  });
}

/** The subgraph on `keep`, in graph order, with the references among them. */
function induced(g: Graph, keep: Set<string>): Graph {
  const paths = g.paths.filter((p) => keep.has(p));
  return { kind: 'graph', paths, refs: new Map(paths.map((p) => [p, new Set([...g.refs.get(p)!].filter((r) => keep.has(r)))])), closure: g.closure };
}

/** Paths reachable from `from` (themselves included) along references, or against them. */
function reach(g: Graph, from: Iterable<string>, mode: 'in' | 'out'): Set<string> {
  const next = mode === 'out' ? g.refs : reverseRefs(g);
  return walk(from, (p) => next.get(p));
}

function reverseRefs(g: Graph): Map<string, Set<string>> {
  const rev = new Map(g.paths.map((p) => [p, new Set<string>()]));
  for (const [p, rs] of g.refs) for (const r of rs) rev.get(r)!.add(p);
  return rev;
}

/** One graph a path, most popular first (nixpkgs' closure-graph order over this graph). */
function popularityContest(g: Graph): Value[] {
  const { info, storeDir } = g.closure;
  const closure: Closure = { storeDir, paths: g.paths.map((p) => ({ path: p, narSize: info.get(p)!.narSize, references: [...g.refs.get(p)!] })) };
  return popularityOrder(closure).map((p) => induced(g, new Set([p])));
}

/** main: the paths (of those in the graph) and what they reach ("out") or what reaches them ("in"); rest: the others. */
function subcomponent(g: Graph, targets: string[], mode: 'in' | 'out'): Parts {
  const main = reach(g, targets.filter((t) => g.refs.has(t)), mode);
  return { kind: 'parts', parts: [['main', induced(g, main)], ['rest', induced(g, new Set(g.paths.filter((p) => !main.has(p))))]] };
}

/**
 * nixpkgs' split_paths: main holds the split paths and the dependencies only
 * they reach, common the dependencies the rest of the graph reaches too, rest
 * the others. References to the split paths are cut in every part; empty
 * parts are left out.
 */
function splitPaths(g: Graph, specs: SplitSpec[]): Parts {
  const split = new Set<string>();
  for (const spec of specs) {
    if (typeof spec === 'string') {
      if (g.refs.has(spec)) split.add(spec);
    } else {
      for (const parent of spec.childrenOf) for (const child of g.refs.get(parent) ?? []) split.add(child);
    }
  }
  if (split.size === 0) return { kind: 'parts', parts: [['rest', g]] };
  const referenced = new Set([...g.refs.values()].flatMap((rs) => [...rs]));
  const roots = g.paths.filter((p) => !referenced.has(p));
  if (roots.length === 1 && split.has(roots[0]!)) return { kind: 'parts', parts: [['main', g]] };
  const splitOff = reach(g, split, 'out');
  const cut: Graph = { ...g, refs: new Map([...g.refs].map(([p, rs]) => [p, new Set([...rs].filter((r) => !split.has(r)))])) };
  // nixpkgs joins the roots under one added root before cutting, so a split root is cut off too.
  const restWithCommon = reach(cut, roots.filter((r) => !split.has(r)), 'out');
  const common = new Set([...splitOff].filter((p) => restWithCommon.has(p)));
  const parts: [string, Value][] = [
    ['main', induced(cut, new Set([...splitOff].filter((p) => !common.has(p))))],
    ['common', induced(cut, common)],
    ['rest', induced(cut, new Set([...restWithCommon].filter((p) => !common.has(p))))],
  ];
  return { kind: 'parts', parts: parts.filter(([, v]) => (v as Graph).paths.length > 0) };
}

/**
 * The first n-1 values as they are, then one graph merging the rest. nixpkgs
 * adds an empty graph when nothing is left; empty layers are dropped in the
 * end, so leaving it out changes nothing.
 */
function limitLayers(values: Value[], n: number, at: string): Value[] {
  const rest = values.slice(n - 1).map((v) => {
    if (Array.isArray(v) || v.kind !== 'graph') fail(at, `merges graphs, found a ${describe(v)}; use flatten first`);
    return v;
  });
  if (rest.length === 0) return values;
  const merged: Graph = { kind: 'graph', paths: [], refs: new Map(), closure: rest[0]!.closure };
  for (const v of rest) {
    for (const p of v.paths) {
      if (merged.refs.has(p)) continue;
      merged.paths.push(p);
      merged.refs.set(p, v.refs.get(p)!);
    }
  }
  return [...values.slice(0, n - 1), merged];
}

function flatten(v: Value): Graph[] {
  if (Array.isArray(v)) return v.flatMap(flatten);
  return v.kind === 'graph' ? [v] : v.parts.flatMap(([, part]) => flatten(part));
}
