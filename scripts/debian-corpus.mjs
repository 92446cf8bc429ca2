#!/usr/bin/env node
// A real Nix store closure made from the Debian packages installed here: each
// package (or each cycle of packages that depend on one another) becomes one
// store path holding its files (`dpkg -L`), and its Depends and Pre-Depends
// become store references. Real ELF binaries, libraries, scripts, symlinks
// and data, in a graph shaped as a distribution's is: what the end-to-end
// tests and bench/ need that the small fixture store cannot give.
//
//   node scripts/debian-corpus.mjs --roots git,perl          # print the roots' store paths
//   node scripts/debian-corpus.mjs --roots git,perl --json   # {"roots": {"git": PATH, ...}, ...}
//
// It runs `nix-build` on scripts/debian-corpus.nix (plain derivations, no
// nixpkgs) with the caller's environment: set NIX_CONFIG as the tests do on a
// single-user Nix without build users. Built paths stay in the store, so a
// second run only evaluates.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const EXPRESSION = join(dirname(fileURLToPath(import.meta.url)), 'debian-corpus.nix');
// What nixpkgs' names allow; anything else in a Debian version becomes "_".
const NAME_CHARS = /[^A-Za-z0-9+._?=-]/g;

class UsageError extends Error {}

/** The installed packages: name -> { version, depends (clauses), arch }, and virtual name -> providers. */
function installedPackages() {
  const format = '${Package}\\t${Version}\\t${Architecture}\\t${db:Status-Abbrev}\\t${Pre-Depends}, ${Depends}\\t${Provides}\\n';
  const out = execFileSync('dpkg-query', ['-W', `-f=${format}`], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const native = execFileSync('dpkg', ['--print-architecture'], { encoding: 'utf8' }).trim();
  const packages = new Map();
  for (const line of out.split('\n')) {
    if (line === '') continue;
    const [name, version, arch, status, depends, provides] = line.split('\t');
    if (!status.startsWith('ii')) continue;
    // With a foreign architecture installed too, the native package stands for the name.
    if (packages.has(name) && arch !== native) continue;
    packages.set(name, { name, version, arch, depends: clauses(depends), provides: clauses(provides).flat() });
  }
  const providers = new Map();
  for (const pkg of packages.values()) {
    for (const virtual of pkg.provides) providers.set(virtual, [...(providers.get(virtual) ?? []), pkg.name].sort());
  }
  return { packages, providers };
}

/** "a (>= 1) | b:any, c" -> [["a", "b"], ["c"]]: package names only. */
function clauses(field) {
  return field
    .split(',')
    .map((clause) => clause.split('|').map((alt) => alt.trim().split(/[\s(:]/)[0]).filter((n) => n !== ''))
    .filter((alts) => alts.length > 0);
}

/** Each package's dependencies among the installed ones: the first alternative installed or provided. */
function dependencyGraph({ packages, providers }) {
  const graph = new Map();
  for (const pkg of packages.values()) {
    const deps = new Set();
    for (const alternatives of pkg.depends) {
      for (const alt of alternatives) {
        const chosen = packages.has(alt) ? alt : providers.get(alt)?.[0];
        if (chosen !== undefined) {
          if (chosen !== pkg.name) deps.add(chosen);
          break;
        }
      }
    }
    graph.set(pkg.name, [...deps].sort());
  }
  return graph;
}

function reachable(roots, graph) {
  const seen = new Set();
  const todo = [...roots];
  while (todo.length > 0) {
    const name = todo.pop();
    if (seen.has(name)) continue;
    seen.add(name);
    todo.push(...graph.get(name));
  }
  return [...seen].sort();
}

/**
 * Strongly connected components (Tarjan's algorithm, with an explicit stack:
 * dependency chains are deep), each sorted, dependencies before dependents.
 */
function components(nodes, graph) {
  const index = new Map();
  const low = new Map();
  const onStack = new Set();
  const stack = [];
  const result = [];
  let next = 0;
  for (const start of nodes) {
    if (index.has(start)) continue;
    const frames = [{ node: start, edge: 0 }];
    index.set(start, next);
    low.set(start, next++);
    stack.push(start);
    onStack.add(start);
    while (frames.length > 0) {
      const frame = frames[frames.length - 1];
      const edges = graph.get(frame.node);
      if (frame.edge < edges.length) {
        const to = edges[frame.edge++];
        if (!index.has(to)) {
          index.set(to, next);
          low.set(to, next++);
          stack.push(to);
          onStack.add(to);
          frames.push({ node: to, edge: 0 });
        } else if (onStack.has(to)) {
          low.set(frame.node, Math.min(low.get(frame.node), index.get(to)));
        }
        continue;
      }
      frames.pop();
      if (frames.length > 0) {
        const parent = frames[frames.length - 1].node;
        low.set(parent, Math.min(low.get(parent), low.get(frame.node)));
      }
      if (low.get(frame.node) === index.get(frame.node)) {
        const component = [];
        let member;
        do {
          member = stack.pop();
          onStack.delete(member);
          component.push(member);
        } while (member !== frame.node);
        result.push(component.sort());
      }
    }
  }
  return result;
}

/**
 * The files (and symlinks) of `names`, with their directories resolved, so
 * that /lib/x.so on a merged-/usr system lands in /usr/lib with the rest.
 */
function packageFiles(names) {
  const files = new Set();
  for (const name of names) {
    const listed = spawnSync('dpkg', ['-L', name], { encoding: 'utf8', maxBuffer: 64 << 20 });
    if (listed.status !== 0) throw new Error(`dpkg -L ${name}: ${listed.stderr.trim()}`);
    for (const path of listed.stdout.split('\n')) {
      if (!path.startsWith('/') || path === '/.') continue;
      let stat;
      try {
        stat = lstatSync(path);
      } catch {
        continue; // removed by the admin, or diverted
      }
      if (stat.isDirectory()) continue;
      files.add(join(realpathSync(dirname(path)), basename(path)));
    }
  }
  return [...files].sort();
}

/** A store path name from a package and its version, the epoch dropped. */
function storeName(pkg) {
  return `${pkg.name}-${pkg.version.replace(/^\d+:/, '')}`.replace(NAME_CHARS, '_');
}

/** Describe the closure of `roots` for debian-corpus.nix, build it, and return the roots' store paths. */
export function buildDebianCorpus(roots, env = process.env) {
  const installed = installedPackages();
  const missing = roots.filter((r) => !installed.packages.has(r));
  if (missing.length > 0) throw new UsageError(`not installed: ${missing.join(', ')}; install them with apt-get or pick other --roots`);
  const graph = dependencyGraph(installed);
  const sccs = components(reachable(roots, graph), graph);
  const owner = new Map(sccs.flatMap((members, i) => members.map((m) => [m, i])));
  const nodes = sccs.map((members, i) => ({
    name: storeName(installed.packages.get(members[0])),
    deps: [...new Set(members.flatMap((m) => graph.get(m).map((d) => owner.get(d))))].filter((d) => d !== i).sort((a, b) => a - b),
    files: packageFiles(members),
  }));
  const attrs = roots.map((_, i) => `root${i}`);
  const dir = mkdtempSync(join(tmpdir(), 'strata-debian-corpus-'));
  try {
    const spec = join(dir, 'spec.json');
    writeFileSync(spec, JSON.stringify({ nodes, roots: Object.fromEntries(attrs.map((a, i) => [a, owner.get(roots[i])])) }));
    const args = [EXPRESSION, '--argstr', 'spec', spec, '--no-out-link', ...attrs.flatMap((a) => ['-A', a])];
    // Nix without build users now and then kills a builder that has already
    // succeeded ("failed due to signal 9"); the next attempt goes on from there.
    for (let attempt = 1; ; attempt++) {
      const built = spawnSync('nix-build', args, { env, encoding: 'utf8', maxBuffer: 64 << 20 });
      if (built.error) throw new Error(`nix-build: ${built.error.message}`);
      if (built.status === 0) {
        const paths = built.stdout.trim().split('\n');
        return { roots: Object.fromEntries(roots.map((r, i) => [r, paths[i]])), packages: owner.size, storePaths: nodes.length };
      }
      if (attempt < 3 && /failed due to signal 9/.test(built.stderr)) continue;
      throw new Error(`nix-build ${EXPRESSION} exited ${built.status}:\n${built.stderr}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function main(argv) {
  let roots;
  let json = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--json') json = true;
    else if (arg === '--roots' && i + 1 < argv.length) roots = argv[++i];
    else if (arg.startsWith('--roots=')) roots = arg.slice('--roots='.length);
    else if (arg === '--help' || arg === '-h') {
      process.stdout.write('usage: node scripts/debian-corpus.mjs --roots PKG[,PKG...] [--json]\n');
      return 0;
    } else throw new UsageError(`unknown argument ${JSON.stringify(arg)}; usage: --roots PKG[,PKG...] [--json]`);
  }
  const names = (roots ?? '').split(',').filter((r) => r !== '');
  if (names.length === 0) throw new UsageError('--roots PKG[,PKG...] is required, e.g. --roots git,perl');
  const corpus = buildDebianCorpus(names);
  process.stdout.write(json ? `${JSON.stringify(corpus, null, 2)}\n` : `${Object.values(corpus.roots).join('\n')}\n`);
  return 0;
}

if (process.argv[1] !== undefined && existsSync(process.argv[1]) && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    process.exitCode = main(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`debian-corpus: ${err.message}\n`);
    process.exitCode = err instanceof UsageError ? 2 : 1;
  }
}
