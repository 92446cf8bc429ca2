import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../helpers/store.js';

// The module graph as the TypeScript compiler resolves it (tsc
// --explainFiles lists, for every file of the program, the files importing
// it), and the rules that keep the layout readable.

type Graph = Map<string, Set<string>>;

function compilerGraph(): Graph {
  const tsc = join(REPO_ROOT, 'node_modules', '.bin', 'tsc');
  let out: string;
  try {
    out = execFileSync(tsc, ['-p', 'tsconfig.test.json', '--noEmit', '--explainFiles'], { cwd: REPO_ROOT, encoding: 'utf8', maxBuffer: 1 << 28 });
  } catch (e) {
    // Type errors make tsc exit non-zero; the listing is still whole, and the build tests report the errors.
    out = (e as { stdout: string }).stdout;
  }
  const imports: Graph = new Map();
  let file = '';
  for (const line of out.split('\n')) {
    if (!line.startsWith(' ')) {
      file = line.trim();
      continue;
    }
    const m = /^\s+Imported via '[^']+' from file '([^']+)'/.exec(line);
    if (m && isOwn(file) && isOwn(m[1]!)) (imports.get(m[1]!) ?? imports.set(m[1]!, new Set()).get(m[1]!)!).add(file);
  }
  return imports;
}

const isOwn = (f: string): boolean => /^(src|test)\//.test(f) && f.endsWith('.ts');

/** A module's folder as the rules see it: src/formats/<format>, src/closure/stores/<kind> (its table apart), else src/<folder>; a file at the top of src is its own. */
function unit(file: string): string {
  const parts = file.split('/');
  if (parts[0] !== 'src' || parts.length === 2) return file;
  if (parts[1] === 'closure' && parts[2] === 'stores') return parts.slice(0, parts.length > 4 ? 4 : 3).join('/');
  return parts[1] === 'formats' && parts.length > 3 ? parts.slice(0, 3).join('/') : parts.slice(0, 2).join('/');
}

/** Strongly connected components with more than one node (Tarjan). */
function cycles(graph: Map<string, Set<string>>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1) found.push(component.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return found;
}

let graph: Graph;
const srcEdges = (): [string, string][] => [...graph].flatMap(([from, tos]) => (from.startsWith('src/') ? [...tos].filter((t) => t.startsWith('src/')).map((t): [string, string] => [from, t]) : []));

test.before(() => {
  graph = compilerGraph();
  assert.ok(graph.get('src/cli.ts')?.has('src/commands/plan.ts'), 'the compiler graph lists src/cli.ts importing src/commands/plan.ts');
});

test('no module imports itself through others', () => {
  assert.deepEqual(cycles(graph), []);
});

test('no folder imports itself through others (src/formats/<format> counted apart)', () => {
  const folders = new Map<string, Set<string>>();
  for (const [from, to] of srcEdges()) {
    if (unit(from) !== unit(to)) (folders.get(unit(from)) ?? folders.set(unit(from), new Set()).get(unit(from))!).add(unit(to));
  }
  assert.deepEqual(cycles(folders), []);
});

test('the model imports nothing of strata but itself', () => {
  const out = srcEdges().filter(([from, to]) => from.startsWith('src/model/') && !to.startsWith('src/model/'));
  assert.deepEqual(out, []);
});

test('a format does not import another format', () => {
  const format = (f: string): string | undefined => /^src\/formats\/([^/]+)\//.exec(f)?.[1];
  const across = srcEdges().filter(([from, to]) => format(from) !== undefined && format(to) !== undefined && format(from) !== format(to));
  assert.deepEqual(across, []);
  const formats = new Set(srcEdges().flatMap(([a, b]) => [format(a), format(b)]).filter((f) => f !== undefined));
  assert.deepEqual([...formats].sort(), ['docker-archive', 'docker-daemon', 'oci-layout', 'registry']);
});

test('a store kind does not import another, and is reached through the STORES table alone', () => {
  const kind = (f: string): string | undefined => /^src\/closure\/stores\/([^/]+)\//.exec(f)?.[1];
  const across = srcEdges().filter(([from, to]) => kind(from) !== undefined && kind(to) !== undefined && kind(from) !== kind(to));
  assert.deepEqual(across, []);
  const kinds = new Set(srcEdges().flatMap(([a, b]) => [kind(a), kind(b)]).filter((k) => k !== undefined));
  assert.deepEqual([...kinds].sort(), ['graph-file', 'guix', 'nix']);
  // The library entry exports the graph file reader and the nix-store query as steps of their own.
  const into = srcEdges().filter(([from, to]) => kind(from) === undefined && kind(to) !== undefined && from !== 'src/closure/stores/table.ts' && from !== 'src/index.ts');
  assert.deepEqual(into, []);
});

test('outside src/formats/, formats are reached through the table alone', () => {
  // The exceptions: the CLI configures registry destinations (manifest
  // formats, push report), and the library entry exports the docker-archive sink.
  const allowed = (from: string, to: string): boolean =>
    (from.startsWith('src/commands/') && /^src\/formats\/registry\/(manifest|report)\.ts$/.test(to)) || (from === 'src/index.ts' && to === 'src/formats/docker-archive/writer.ts');
  const into = srcEdges().filter(([from, to]) => !from.startsWith('src/formats/') && /^src\/formats\/[^/]+\//.test(to) && !allowed(from, to));
  assert.deepEqual(into, []);
  const producers = srcEdges().filter(([from, to]) => /^src\/(layer|model|image)\//.test(from) && to.startsWith('src/formats/'));
  assert.deepEqual(producers, []);
});

test('only the CLI imports its commands, and nothing imports the CLI', () => {
  const cliLayer = (f: string): boolean => f === 'src/cli.ts' || f.startsWith('src/commands/');
  const wrong = srcEdges().filter(([from, to]) => cliLayer(to) && !cliLayer(from));
  assert.deepEqual(wrong, []);
  assert.deepEqual([...graph].filter(([, tos]) => tos.has('src/cli.ts')).map(([from]) => from), []);
});

test('every export is imported somewhere, or is the library API (src/index.ts)', () => {
  const importers = new Map<string, string[]>();
  for (const [from, tos] of graph) for (const to of tos) importers.set(to, [...(importers.get(to) ?? []), from]);
  const text = (f: string): string => readFileSync(join(REPO_ROOT, f), 'utf8');
  const index = text('src/index.ts');
  // The benchmarks import dist/ modules directly.
  const bench = readdirSync(join(REPO_ROOT, 'bench')).map((f) => text(join('bench', f))).join('\n');
  const dead: string[] = [];
  for (const file of new Set([...graph.values()].flatMap((tos) => [...tos]))) {
    if (!file.startsWith('src/') || file === 'src/index.ts') continue;
    const spec = `./${file.slice('src/'.length).replace(/\.ts$/, '.js')}`;
    if (index.includes(`export * from '${spec}'`)) continue;
    const names = [...text(file).matchAll(/^export (?:declare )?(?:async )?(?:function\*?|const|let|class|interface|type|enum) ([A-Za-z_$][\w$]*)/gm)].map((m) => m[1]!);
    const users = [...(importers.get(file) ?? []).map(text), bench];
    for (const name of names) {
      const word = new RegExp(`\\b${name.replace(/\$/g, '\\$')}\\b`);
      if (!users.some((u) => word.test(u))) dead.push(`${file}: ${name}`);
    }
  }
  assert.deepEqual(dead, []);
});

test('no comment cites an issue number', () => {
  const comments = (f: string): string[] => readFileSync(join(REPO_ROOT, f), 'utf8').match(/\/\/[^\n]*|\/\*[\s\S]*?\*\//g) ?? [];
  const files = [...new Set([...graph.values()].flatMap((tos) => [...tos]))];
  const cited = files.flatMap((f) => comments(f).filter((c) => /\bissues?\s+#?\d+|(^|\s)#\d+\b/i.test(c)).map((c) => `${f}: ${c.slice(0, 80)}`));
  assert.deepEqual(cited, []);
});
