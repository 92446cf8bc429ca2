// Fleets of images drawn from the Debian package universe on this machine,
// for issue 7's target: each image is the closure of one Debian package,
// one store path per package (or per cycle of packages that depend on one
// another), sized from Installed-Size, referencing its Depends/Pre-Depends
// (the first alternative that exists). Writes one graph file per image and
// runs `strata simulate` on each fleet, printing every strategy's total
// excess and the candidate's ratio to the best of nixpkgs' and Guix's
// strategies (popularity, auto, size), issue 7's baseline.
//
//   node bench/fleet.mjs [--out DIR] [--budgets 8,16,32] [--libraries 40] [--candidate shared] [--seed 7] [--detail]
// (--detail: fleet, app and library excess apart)
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1] : fallback;
};
const out = opt('out', '/tmp/strata-fleet');
const budgets = opt('budgets', '8,16,32').split(',');
const libraries = opt('libraries', '40');
const candidate = opt('candidate', 'shared');
const BASELINES = ['popularity', 'auto', 'size'];
const seed = Number(opt('seed', '7'));
const cli = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'cli.js');

// Two hand-picked fleets with no root in common (one to tune on, one held
// out), and one drawn at random from the universe.
const FLEETS = {
  dev: ['postgresql-15', 'nginx', 'redis-server', 'python3.11', 'git', 'perl', 'nodejs', 'guile-3.0', 'ruby3.1',
    'openjdk-17-jre-headless', 'php8.2-cli', 'apache2', 'mariadb-server', 'golang-1.19-go'],
  heldout: ['emacs-nox', 'vim', 'gcc-12', 'tmux', 'bind9', 'postfix', 'squid', 'haproxy', 'samba', 'rsync',
    'openssh-server', 'imagemagick', 'erlang-base', 'tcl8.6', 'sqlite3'],
};

/** Debian control stanzas: the package lists apt knows, and the installed packages. */
function stanzas() {
  let text = '';
  try {
    text = execFileSync('apt-cache', ['dumpavail'], { maxBuffer: 1 << 30, encoding: 'utf8' });
  } catch {
    // no apt: the installed packages alone
  }
  text += '\n\n' + readFileSync('/var/lib/dpkg/status', 'utf8');
  const pkgs = new Map();
  for (const block of text.split(/\n\s*\n/)) {
    const fields = {};
    let key = '';
    for (const line of block.split('\n')) {
      if (/^\s/.test(line)) fields[key] += ' ' + line.trim();
      else {
        const c = line.indexOf(':');
        if (c > 0) fields[(key = line.slice(0, c))] = line.slice(c + 1).trim();
      }
    }
    const name = fields.Package;
    if (!name || pkgs.has(name)) continue;
    if (fields.Status !== undefined && !fields.Status.endsWith(' installed')) continue;
    pkgs.set(name, {
      version: fields.Version ?? '0',
      size: Number(fields['Installed-Size'] ?? 0) * 1024,
      depends: [fields['Pre-Depends'], fields.Depends].filter(Boolean).join(','),
      provides: fields.Provides ?? '',
    });
  }
  return pkgs;
}

const bare = (s) => s.trim().split(/[\s(:]/)[0];

/** Package name -> the names it depends on (first alternative that exists; a virtual package's first provider). */
function dependencyGraph(pkgs) {
  const providers = new Map();
  for (const [name, p] of pkgs) {
    for (const v of p.provides.split(',').map(bare).filter(Boolean)) (providers.get(v) ?? providers.set(v, []).get(v)).push(name);
  }
  const graph = new Map();
  for (const [name, p] of pkgs) {
    const deps = new Set();
    for (const clause of p.depends.split(',').filter((c) => c.trim())) {
      for (const alt of clause.split('|').map(bare)) {
        const hit = pkgs.has(alt) ? alt : providers.get(alt)?.sort()[0];
        if (hit) {
          if (hit !== name) deps.add(hit);
          break;
        }
      }
    }
    graph.set(name, [...deps].sort());
  }
  return graph;
}

/** Strongly connected components (iterative Tarjan): package name -> component id. */
function components(graph) {
  const index = new Map(), low = new Map(), comp = new Map(), stack = [], on = new Set();
  let counter = 0, ncomp = 0;
  for (const root of [...graph.keys()].sort()) {
    if (index.has(root)) continue;
    const work = [[root, 0]];
    index.set(root, counter); low.set(root, counter++); stack.push(root); on.add(root);
    while (work.length) {
      const frame = work[work.length - 1];
      const [v, i] = frame;
      const kids = graph.get(v);
      if (i < kids.length) {
        frame[1]++;
        const w = kids[i];
        if (!index.has(w)) {
          index.set(w, counter); low.set(w, counter++); stack.push(w); on.add(w);
          work.push([w, 0]);
        } else if (on.has(w)) low.set(v, Math.min(low.get(v), index.get(w)));
        continue;
      }
      work.pop();
      if (work.length) {
        const u = work[work.length - 1][0];
        low.set(u, Math.min(low.get(u), low.get(v)));
      }
      if (low.get(v) === index.get(v)) {
        let w;
        do {
          w = stack.pop();
          on.delete(w);
          comp.set(w, ncomp);
        } while (w !== v);
        ncomp++;
      }
    }
  }
  return comp;
}

const NIX32 = '0123456789abcdfghijklmnpqrsvwxyz';
function storePath(names, pkgs) {
  const label = names.map((n) => `${n}-${pkgs.get(n).version}`).join('+').replace(/[^A-Za-z0-9+._?=-]/g, '_').slice(0, 200);
  const digest = createHash('sha256').update(label).digest();
  let h = '';
  for (let i = 0; i < 32; i++) h += NIX32[digest[i] % 32];
  return `/nix/store/${h}-${label}`;
}

/** The store graph: one node per component, merged sizes and references. */
function storeGraph(pkgs, graph) {
  const comp = components(graph);
  const members = new Map();
  for (const [name, c] of comp) (members.get(c) ?? members.set(c, []).get(c)).push(name);
  const nodes = new Map();
  for (const [c, names] of members) {
    names.sort();
    const refs = new Set();
    for (const n of names) for (const d of graph.get(n)) if (comp.get(d) !== c) refs.add(comp.get(d));
    nodes.set(c, { path: storePath(names, pkgs), narSize: names.reduce((s, n) => s + pkgs.get(n).size, 0), refs: [...refs] });
  }
  return { comp, nodes };
}

function closureOf(c, nodes) {
  const seen = new Set([c]);
  const stack = [c];
  while (stack.length) for (const d of nodes.get(stack.pop()).refs) if (!seen.has(d)) seen.add(d), stack.push(d);
  return seen;
}

function randomFleet(pkgs, store, taken, count) {
  let s = seed;
  const rand = () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
  const referenced = new Set();
  for (const n of store.nodes.values()) for (const d of n.refs) referenced.add(d);
  // Top-level packages with a closure of an image's size, as applications are.
  const candidates = [...pkgs.keys()].sort().filter((name) => {
    const c = store.comp.get(name);
    if (referenced.has(c) || taken.has(name)) return false;
    const size = closureOf(c, store.nodes).size;
    return size >= 30 && size <= 400;
  });
  const picked = [];
  while (picked.length < count && candidates.length) picked.push(candidates.splice(Math.floor(rand() * candidates.length), 1)[0]);
  return picked.sort();
}

const pkgs = stanzas();
const graph = dependencyGraph(pkgs);
const store = storeGraph(pkgs, graph);
const fleets = {};
for (const [name, roots] of Object.entries(FLEETS)) {
  const missing = roots.filter((r) => !pkgs.has(r));
  if (missing.length) console.error(`fleet ${name}: not in this machine's package lists, left out: ${missing.join(' ')}`);
  fleets[name] = roots.filter((r) => pkgs.has(r));
}
fleets[`random-${seed}`] = randomFleet(pkgs, store, new Set(Object.values(FLEETS).flat()), 14);

console.log(`${pkgs.size} packages, ${store.nodes.size} store paths; budgets ${budgets.join(' ')}, ${libraries} library updates; excess in MB`);
let worst = 0;
for (const [fleet, roots] of Object.entries(fleets)) {
  const dir = join(out, fleet);
  mkdirSync(dir, { recursive: true });
  const files = roots.map((root) => {
    const c = store.comp.get(root);
    const entries = [...closureOf(c, store.nodes)].map((k) => store.nodes.get(k))
      .map((n) => ({ path: n.path, narSize: n.narSize, references: n.refs.map((d) => store.nodes.get(d).path).sort() }))
      .sort((a, b) => (a.path < b.path ? -1 : 1));
    const file = join(dir, `${root}.json`);
    writeFileSync(file, JSON.stringify(entries) + '\n');
    return { file, paths: entries.length };
  });
  const sims = JSON.parse(execFileSync('node', [cli, 'simulate', ...files.flatMap((f) => ['--graph', f.file]),
    '--max-layers', ...budgets, '--libraries', libraries, '--json'], { maxBuffer: 1 << 28, encoding: 'utf8' }));
  console.log(`\n${fleet}: ${roots.length} images (${files.map((f) => f.paths).join(' ')} paths): ${roots.join(' ')}`);
  console.log(['budget', ...sims[0].results.map((r) => r.strategy), `${candidate}/best`].map((c) => c.padStart(12)).join(''));
  for (const sim of sims) {
    const mb = (b) => (b / 1e6).toFixed(0);
    const mine = sim.results.find((r) => r.strategy === candidate);
    const best = Math.min(...sim.results.filter((r) => BASELINES.includes(r.strategy)).map((r) => r.excess));
    const ratio = mine.excess / best;
    worst = Math.max(worst, ratio);
    const parts = sim.results.map((r) => `${mb(r.excess)}`);
    console.log([String(sim.maxLayers), ...parts, ratio.toFixed(2) + 'x'].map((c) => c.padStart(12)).join(''));
    if (args.includes('--detail')) {
      for (const r of sim.results) {
        console.log(`    ${r.strategy.padEnd(11)} fleet ${mb(r.fleet.bytes - r.fleet.bound)}  app ${mb(r.app.bytes - r.app.bound)}  library ${mb(r.library.bytes - r.library.bound)}`);
      }
    }
  }
}
console.log(`\nworst ${candidate}/best of ${BASELINES.join(', ')}: ${worst.toFixed(2)}x (target: at most 0.50x)`);
