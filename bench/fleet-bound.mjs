// How low can issue 7's total excess go on a fleet at all? Each strategy plans
// every image alone; this searches for the best plans of all the images
// together, knowing the whole fleet (which no build can), to see how much room
// the per-image strategies leave.
//
// The objective is the expected total excess with K library updates, the
// library drawn uniformly from the fleet's non-top-level paths as
// `strata simulate` draws them: fleet + app + (K / L) * (library excess summed
// over all L such paths). For the strategies it is computed by the simulator
// itself (every image planned again after every update). The joint search
// assumes a perfectly stable planner: a layer is re-pulled exactly when it
// holds a changed path. It is simulated annealing over the assignment of each
// image's paths to at most max-layers - 1 store layers, started from the
// lowest of the strategies' plans, once per starting temperature (the best
// run kept), so what it finds is an upper bound on the optimum, not the optimum.
//
//   node bench/fleet-bound.mjs [--fleets /tmp/strata-fleet] [--only dev,heldout] [--budget 8] [--libraries 10,40]
//       [--iterations 2000000] [--temperatures 5e5,2e6,5e6] [--seed 1]
// (the fleets are the graph files `npm run bench:fleet` writes)
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const dist = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'plan');
const { planLayers, STRATEGIES } = await import(join(dist, 'plan.js'));
const { simulate, defaultLibraries, dependents, topLevel } = await import(join(dist, 'simulate.js'));

const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1] : fallback;
};
const root = opt('fleets', '/tmp/strata-fleet');
const budget = Number(opt('budget', '8'));
const counts = opt('libraries', '10,40').split(',').map(Number);
const iterations = Number(opt('iterations', '2000000'));
const seed = Number(opt('seed', '1'));
const temperatures = opt('temperatures', '5e5,2e6,5e6').split(',').map(Number);
const only = opt('only', '').split(',').filter(Boolean);
const BASELINES = ['popularity', 'auto', 'size'];

if (!existsSync(root)) {
  console.error(`${root}: no fleets there; write them first with: npm run bench:fleet -- --out ${root}`);
  process.exit(1);
}
const mb = (b) => (b / 1e6).toFixed(0);
console.log(`budget ${budget}; expected total excess in MB with K library updates; joint: best plans found for the whole fleet (${iterations} steps from ${temperatures.join(', ')} bytes)`);
console.log(['fleet', 'K', ...STRATEGIES, 'joint', 'shared/best', 'joint/best'].map((c) => c.padStart(12)).join(''));

for (const fleet of readdirSync(root).sort().filter((f) => only.length === 0 || only.includes(f))) {
  const dir = join(root, fleet);
  const files = readdirSync(dir).filter((f) => f.endsWith('.json')).sort();
  if (files.length === 0) continue;
  const images = files.map((f) => ({ name: f, closure: { storeDir: '/nix/store', paths: JSON.parse(readFileSync(join(dir, f), 'utf8')) } }));
  const every = defaultLibraries(images, Infinity);
  const sim = simulate(images, { maxLayers: budget, libraries: every });
  for (const k of counts) {
    const w = k / every.length;
    const expected = Object.fromEntries(sim.results.map((r) => [r.strategy, r.fleet.bytes - r.fleet.bound + r.app.bytes - r.app.bound + w * (r.library.bytes - r.library.bound)]));
    const start = Object.entries(expected).sort((a, b) => a[1] - b[1])[0][0];
    const joint = Math.min(...temperatures.map((t) => anneal(images, every, w, start, t)));
    const best = Math.min(...BASELINES.map((s) => expected[s]));
    console.log([fleet, String(k), ...STRATEGIES.map((s) => mb(expected[s])), mb(joint), (expected.shared / best).toFixed(2) + 'x', (joint / best).toFixed(2) + 'x'].map((c) => c.padStart(12)).join(''));
  }
}

/** The lowest expected excess found for plans of all the images together. */
function anneal(images, libraries, w, startStrategy, hot) {
  const groups = budget - 1;
  const size = new Map();
  for (const img of images) for (const p of img.closure.paths) size.set(p.path, p.narSize);
  const unionBytes = [...size.values()].reduce((a, b) => a + b, 0);
  let state = seed;
  const rand = () => (state = (state * 1103515245 + 12345) % 2147483648) / 2147483648;
  const st = images.map((img) => {
    const paths = img.closure.paths.map((p) => p.path);
    const index = new Map(paths.map((p, i) => [p, i]));
    const sz = paths.map((p) => size.get(p));
    // Each update: the changed paths and its weight in the expectation.
    const updates = [{ weight: 1, changed: topLevel(img.closure).map((p) => index.get(p)) }];
    for (const lib of libraries) {
      const changed = dependents(img.closure, lib);
      if (changed.size) updates.push({ weight: w, changed: [...changed].map((p) => index.get(p)) });
    }
    const bound = updates.reduce((s, u) => s + u.weight * u.changed.reduce((t, v) => t + sz[v], 0), 0);
    const group = new Int32Array(paths.length);
    planLayers(img.closure, { strategy: startStrategy, maxLayers: budget }).layers.forEach((l, g) => l.paths.forEach((p) => (group[index.get(p)] = g)));
    return { paths, sz, updates, bound, group };
  });
  const bytesOf = (s) => {
    const b = new Float64Array(groups);
    s.group.forEach((g, v) => (b[g] += s.sz[v]));
    return b;
  };
  const layersOf = (s) => {
    const members = Array.from({ length: groups }, () => []);
    s.group.forEach((g, v) => members[g].push(s.paths[v]));
    const b = bytesOf(s);
    return members.flatMap((m, g) => (m.length ? [[m.sort().join('\n'), b[g]]] : []));
  };
  const updateCost = (s) => {
    const b = bytesOf(s);
    const hit = new Uint8Array(groups);
    let c = 0;
    for (const u of s.updates) {
      hit.fill(0);
      for (const v of u.changed) hit[s.group[v]] = 1;
      for (let g = 0; g < groups; g++) if (hit[g]) c += u.weight * b[g];
    }
    return c - s.bound;
  };
  // Layers stored in the registry: key -> [images holding it, bytes].
  const stored = new Map();
  const count = (layers, d) => {
    for (const [key, bytes] of layers) {
      const n = (stored.get(key)?.[0] ?? 0) + d;
      if (n) stored.set(key, [n, bytes]);
      else stored.delete(key);
    }
  };
  const fleetDelta = (before, after) => {
    const change = new Map();
    for (const [key, bytes] of before) change.set(key, [(change.get(key)?.[0] ?? 0) - 1, bytes]);
    for (const [key, bytes] of after) change.set(key, [(change.get(key)?.[0] ?? 0) + 1, bytes]);
    let d = 0;
    for (const [key, [dn, bytes]] of change) {
      const n = stored.get(key)?.[0] ?? 0;
      if (n === 0 && dn > 0) d += bytes;
      if (n > 0 && n + dn === 0) d -= bytes;
    }
    return d;
  };
  for (const s of st) {
    s.layers = layersOf(s);
    count(s.layers, 1);
    s.cost = updateCost(s);
  }
  const total = () => [...stored.values()].reduce((a, [, b]) => a + b, 0) - unionBytes + st.reduce((a, s) => a + s.cost, 0);
  let best = total();
  for (let it = 0; it < iterations; it++) {
    const temperature = hot * (1 - it / iterations) + 1e3;
    const s = st[Math.floor(rand() * st.length)];
    const saved = s.group.slice();
    const move = rand();
    if (move < 0.6) {
      // one path to another layer
      s.group[Math.floor(rand() * s.paths.length)] = Math.floor(rand() * groups);
    } else if (move < 0.8) {
      // take another image's layer holding one of this image's paths
      const v = Math.floor(rand() * s.paths.length);
      const o = st[Math.floor(rand() * st.length)];
      const ov = o.paths.indexOf(s.paths[v]);
      if (ov < 0) continue;
      const want = new Set(o.paths.filter((_, x) => o.group[x] === o.group[ov]));
      const g = s.group[v];
      s.paths.forEach((p, x) => {
        if (want.has(p)) s.group[x] = g;
        else if (s.group[x] === g) s.group[x] = (g + 1 + Math.floor(rand() * (groups - 1))) % groups;
      });
    } else {
      // merge two layers
      const a = Math.floor(rand() * groups);
      const b = Math.floor(rand() * groups);
      for (let x = 0; x < s.group.length; x++) if (s.group[x] === a) s.group[x] = b;
    }
    const layers = layersOf(s);
    const cost = updateCost(s);
    const d = fleetDelta(s.layers, layers) + cost - s.cost;
    if (d <= 0 || rand() < Math.exp(-d / temperature)) {
      count(s.layers, -1);
      count(layers, 1);
      s.layers = layers;
      s.cost = cost;
      best = Math.min(best, total());
    } else s.group = saved;
  }
  return best;
}
