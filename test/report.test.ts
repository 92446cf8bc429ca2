import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { humanSize } from '../src/util/text.js';
import { squarify } from '../src/report/treemap.js';
import { loadPage } from './helpers/browser.js';
import { strata, strataOk } from './helpers/cli.js';
import { buildFixture, graphFiles, tmpDir } from './helpers/store.js';

const app = buildFixture('app');
const busybox = buildFixture('busybox');
const work = tmpDir('strata-report-test-');

type PathInfo = { path: string; narSize: number; references: string[] };
const closure = JSON.parse(strataOk(['closure', app, '--json']).stdout) as PathInfo[];
const narSize = new Map(closure.map((p) => [p.path, p.narSize]));
const byName = (name: string): string => closure.find((p) => p.path.endsWith(`-${name}`))!.path;
const total = closure.reduce((s, p) => s + p.narSize, 0);

interface JsonReport {
  images: {
    name: string; label: string; strategy: string; size: number; pathCount: number; budget: { used: number; max: number }; roots: string[];
    layers: { index: number; size: number; share: number; paths: { path: string; size: number | null; popularity?: number }[]; why: string; usedBy: string[]; referencedBy: string[]; sharedWith: string[] }[];
    largest: { path: string; size: number; layer: number }[];
  }[];
  sharing: { layers: { size: number; paths: string[]; images: string[] }[]; matrix: number[][]; total: number; stored: number; saved: number } | null;
  comparison: { maxLayers: number; results: unknown[] } | null;
}

const jsonReport = (args: string[]): JsonReport => JSON.parse(strataOk(['report', ...args, '--format', 'json']).stdout) as JsonReport;

test('report --format json: layers, sizes and paths of the real closure, popularity and why', () => {
  const r = jsonReport([app, '--strategy', 'popularity', '--max-layers', '4']);
  assert.equal(r.images.length, 1);
  assert.equal(r.sharing, null);
  assert.equal(r.comparison, null);
  const img = r.images[0]!;
  assert.equal(img.label, 'app');
  assert.equal(img.size, total);
  assert.equal(img.pathCount, 5);
  assert.deepEqual(img.budget, { used: 4, max: 4 });
  assert.deepEqual(img.roots, [app]);
  // nixpkgs' popularity order packed into 3 store layers: data (7), lib-b (4), then the rest.
  assert.deepEqual(img.layers.map((l) => l.paths.map((p) => p.path)), [
    [byName('data')],
    [byName('lib-b')],
    [busybox, byName('lib-a'), app].sort((a, b) => narSize.get(b)! - narSize.get(a)! || (a < b ? -1 : 1)),
  ]);
  for (const l of img.layers) {
    assert.equal(l.size, l.paths.reduce((s, p) => s + narSize.get(p.path)!, 0));
    for (const p of l.paths) assert.equal(p.size, narSize.get(p.path));
    assert.equal(l.share, l.size / total);
  }
  // Routes from app: 1 to app, busybox, lib-a; 2 to lib-b; 3 to data. Popularity sums them over ancestors and self.
  const popularity = Object.fromEntries(img.layers.flatMap((l) => l.paths.map((p) => [p.path, p.popularity])));
  assert.deepEqual(popularity, { [byName('data')]: 7, [byName('lib-b')]: 4, [busybox]: 2, [byName('lib-a')]: 2, [app]: 1 });
  assert.equal(img.layers[0]!.why, 'popular enough for a layer of its own (popularity 7)');
  assert.match(img.layers[2]!.why, /^the least popular paths \(popularity 2 to 1\), together in the last layer the budget leaves$/);
  assert.deepEqual(img.largest.map((p) => p.path), [...closure].sort((a, b) => b.narSize - a.narSize || (a.path < b.path ? -1 : 1)).map((p) => p.path));
  assert.equal(img.largest[0]!.layer, 3);
});

test('report --format markdown and text: the numbers and every store path', () => {
  const md = strataOk(['report', app, '--strategy', 'popularity', '--max-layers', '4', '--format', 'markdown']).stdout;
  assert.match(md, /^# Layer report\n\n## Image app\n/);
  const data = byName('data');
  const rest = [busybox, byName('lib-a'), app];
  const restSize = rest.reduce((s, p) => s + narSize.get(p)!, 0);
  assert.ok(md.includes(`| 1 | ${humanSize(narSize.get(data)!)} | ${((narSize.get(data)! / total) * 100).toFixed(1)}% | 1 | data | popular enough for a layer of its own (popularity 7) |`), md);
  assert.ok(md.includes(`| 3 | ${humanSize(restSize)} | ${((restSize / total) * 100).toFixed(1)}% | 3 | busybox, lib-a, app |`), md);
  // Three layer rows: the table's lines between its header and the next blank line.
  const layerTable = md.split('| # | size | share |')[1]!.split('\n\n')[0]!.split('\n').slice(2);
  assert.equal(layerTable.length, 3);
  for (const p of closure) assert.ok(md.includes(`| ${humanSize(p.narSize)} | ${p.path} |`), `${p.path} missing from:\n${md}`);
  assert.ok(md.includes(`5 store paths, ${humanSize(total)} (${total} bytes) in 3 store layers; 4 of --max-layers 4 used`));

  const text = strataOk(['report', app, '--strategy', 'popularity', '--max-layers', '4']).stdout;
  assert.match(text, /^image app  \(\/nix\/store\/[0-9a-z]{32}-app\)\n/);
  assert.ok(text.includes(`5 store paths, ${humanSize(total)} (${total} bytes) in 3 store layers`));
  assert.match(text, /\n {6}3 +1\.9 MiB +9\d\.\d% +busybox 1\.9 MiB, lib-a 1\.5 KiB, app 1\.5 KiB\n/);
});

test('report of two images: shared layers, bytes saved, and --compare equal to strata simulate', () => {
  const r = jsonReport([app, busybox, '--max-layers', '4', '--strategy', 'shared', '--compare']);
  assert.deepEqual(r.images.map((i) => i.label), ['app', 'busybox']);
  const bb = narSize.get(busybox)!;
  // shared: busybox alone in both images (a layer of its own in app; the top-level path of busybox).
  assert.deepEqual(r.sharing!.layers, [{ size: bb, paths: [busybox], images: ['app', 'busybox'] }]);
  assert.deepEqual(r.sharing!.matrix, [[total, bb], [bb, bb]]);
  assert.equal(r.sharing!.total, total + bb);
  assert.equal(r.sharing!.saved, bb);
  assert.equal(r.sharing!.stored, total);
  assert.deepEqual(r.images[0]!.layers[0]!.sharedWith, ['busybox']);
  assert.deepEqual(r.images[0]!.layers.at(-1)!.paths.map((p) => p.path), [app]);
  assert.match(r.images[0]!.layers.at(-1)!.why, /^the top-level paths, alone on top/);
  // data, lib-a and lib-b grouped below app, the only path of another layer referring to them.
  const grouped = r.images[0]!.layers[1]!;
  assert.deepEqual(grouped.paths.map((p) => p.path), [byName('data'), byName('lib-a'), byName('lib-b')]);
  assert.deepEqual(grouped.referencedBy, [app]);
  assert.equal(grouped.why, 'paths whose closures nearly match, grouped: a library update re-ships few unchanged bytes with them; referenced by app');
  const sim = JSON.parse(strataOk(['simulate', app, busybox, '--max-layers', '4', '--json']).stdout)[0];
  assert.deepEqual(r.comparison, sim);

  const text = strataOk(['report', app, busybox, '--max-layers', '4', '--strategy', 'shared']).stdout;
  assert.ok(text.includes(`sharing: 2 images hold ${humanSize(total + bb)}; a registry stores ${humanSize(total)} (identical layers once), saving ${humanSize(bb)}`), text);
});

test('report --graph and --plan: the same layers as from the store', () => {
  const fromStore = jsonReport([app, '--strategy', 'popularity', '--max-layers', '4']).images[0]!;
  const fromGraph = jsonReport(['--graph', graphFiles('app').registration, '--strategy', 'popularity', '--max-layers', '4']).images[0]!;
  assert.deepEqual(fromGraph.layers, fromStore.layers);
  assert.equal(fromGraph.label, 'registration');

  const planFile = join(work, 'app-plan.json');
  strataOk(['plan', app, '--strategy', 'popularity', '--max-layers', '4', '--format', 'json', '-o', planFile]);
  const fromPlan = jsonReport(['--plan', planFile]).images[0]!;
  assert.deepEqual(fromPlan.layers.map((l) => l.size), fromStore.layers.map((l) => l.size));
  // A plan gives layer sizes only: a one-path layer's path size is known, the others not.
  assert.deepEqual(fromPlan.layers[0]!.paths, [{ path: byName('data'), size: narSize.get(byName('data')) }]);
  assert.ok(fromPlan.layers[2]!.paths.every((p) => p.size === null));
  assert.deepEqual(fromPlan.roots, []);
});

test('report: bad input is one line and exit 2', () => {
  const none = strata(['report']);
  assert.equal(none.status, 2);
  assert.equal(none.stderr, 'strata: report: name the images: store paths, --graph FILE or --plan FILE\n');
  const planFile = join(work, 'plan-for-compare.json');
  strataOk(['plan', app, '--strategy', 'popularity', '--max-layers', '4', '--format', 'json', '-o', planFile]);
  const compare = strata(['report', '--plan', planFile, '--compare']);
  assert.equal(compare.status, 2);
  assert.match(compare.stderr, /^strata: --compare: needs closures \(store paths or --graph FILE\)[^\n]*\n$/);
});

test('report --format html: one self-contained page, the same bytes each time, names escaped', () => {
  // A graph file whose name needs escaping becomes an image label.
  const hostile = join(work, `<b>x&"y'.graph`);
  copyFileSync(graphFiles('app').registration, hostile);
  const out = join(work, 'report.html');
  const args = ['report', '--graph', hostile, '--graph', graphFiles('busybox').registration, '--max-layers', '4', '--compare', '--format', 'html'];
  strataOk([...args, '-o', out]);
  const html = readFileSync(out, 'utf8');
  assert.equal(strataOk(args).stdout, html);
  assert.ok(!html.includes('<b>x'), 'the label is escaped');
  assert.ok(html.includes('&#60;b&#62;x&#38;&#34;y&#39;.graph'));
  assert.doesNotMatch(html, /(src|href)=["']?(https?:)?\/\//, 'no network resources');
  assert.equal((html.match(/<svg class="chart /g) ?? []).length, 4);
});

test('report --format html in Chromium: no errors, every chart drawn, tables sort on a click', () => {
  const out = join(work, 'browser.html');
  strataOk(['report', app, busybox, '--strategy', 'popularity', '--max-layers', '4', '--compare', '--format', 'html', '-o', out]);
  const page = loadPage(out);
  assert.deepEqual(page.console, []);
  assert.doesNotMatch(page.dom, /data-errors=/);
  // Two charts per image (layer sizes, treemap), each with shapes of a size.
  assert.match(page.dom, /<body data-drawn="4">/);
  assert.match(page.dom, /<table class="matrix">/);
  assert.match(page.dom, /<h2>Strategies compared<\/h2>/);

  // Click the "size" header of the first layer table twice: ascending, then descending.
  const clicked = join(work, 'clicked.html');
  const probe = `<script>
    var table = document.querySelectorAll("section.image table.sortable")[0];
    var th = Array.prototype.find.call(table.tHead.rows[0].cells, function (c) { return c.textContent === "size"; });
    var order = function () { return Array.prototype.map.call(table.tBodies[0].rows, function (r) { return r.cells[0].textContent; }).join(","); };
    th.click(); var up = order(); th.click();
    document.body.setAttribute("data-sorted", up + "|" + order() + "|" + th.getAttribute("aria-sort"));
  </script></body>`;
  writeFileSync(clicked, readFileSync(out, 'utf8').replace('</body>', probe));
  const sorted = loadPage(clicked);
  // app's layers by size: lib-b (2), data (1), the rest (3).
  assert.match(sorted.dom, /data-sorted="2,1,3\|3,1,2\|descending"/);
  assert.deepEqual(sorted.console, []);
});

test('squarify: areas proportional to the values, tiling the rectangle', () => {
  const values = [6, 6, 4, 3, 2, 2, 1, 0];
  const rects = squarify(values, { x: 10, y: 20, w: 60, h: 40 });
  const scale = (60 * 40) / 24;
  values.forEach((v, i) => assert.ok(Math.abs(rects[i]!.w * rects[i]!.h - v * scale) < 1e-6, `value ${v}: ${JSON.stringify(rects[i])}`));
  for (const r of rects.slice(0, -1)) assert.ok(r.x >= 10 && r.y >= 20 && r.x + r.w <= 70 + 1e-9 && r.y + r.h <= 60 + 1e-9);
  // No two overlap.
  for (let i = 0; i < 7; i++) for (let j = i + 1; j < 7; j++) {
    const a = rects[i]!;
    const b = rects[j]!;
    const overlap = Math.min(a.x + a.w, b.x + b.w) - Math.max(a.x, b.x) > 1e-9 && Math.min(a.y + a.h, b.y + b.h) - Math.max(a.y, b.y) > 1e-9;
    assert.ok(!overlap, `${i} and ${j} overlap`);
  }
  // The first row of the first two (equal) values: squares' aspect closer to 1 than a strip.
  assert.ok(Math.max(rects[0]!.w / rects[0]!.h, rects[0]!.h / rects[0]!.w) < 2);
});
