import { shortName } from '../closure/store-path.js';
import { firstFew, humanSize } from '../util/text.js';
import type { Simulation } from '../plan/simulate.js';
import type { Report, ReportImage, Sharing } from './model.js';
import { imageSummary, percent } from './text.js';
import { type Rect, squarify } from './treemap.js';

/**
 * The report as one self-contained HTML page: inline CSS, SVG charts laid
 * out here (so the page is the same bytes for the same report), and a small
 * script that sorts tables on a header click. Once it has run, the script
 * sets `data-drawn` on <body> to the number of charts whose shapes have a
 * size, and any script error lands in `data-errors`: a headless browser can
 * check the page from its DOM.
 */
export function reportToHtml(report: Report): string {
  const title = `Layer report: ${report.images.length > 3 ? `${report.images.length} images` : report.images.map((i) => i.label).join(', ')}`;
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${esc(title)}</title>`,
    `<style>${STYLE}</style>`,
    `<script>${ERRORS}</script>`,
    '</head>',
    '<body>',
    '<main>',
    `<h1>${esc(title)}</h1>`,
    `<p class="intro">A container image is a stack of layers. Each layer here holds whole store paths; a registry and a host keep a layer once, by its exact contents, so paths that rarely change or that many images use belong in layers of their own. <b>Share</b> is the layer's part of the image's store bytes; <b>why together</b> tells how the layering strategy grouped the paths. Click a table header to sort.</p>`,
    report.images.length > 1 ? overview(report.images) : '',
    ...report.images.map((img, k) => imageSection(img, k)),
    report.sharing ? sharingSection(report.images, report.sharing) : '',
    report.comparison ? comparisonSection(report.comparison) : '',
    '</main>',
    `<script>${SCRIPT}</script>`,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

/** Text for HTML content and attribute values. */
function esc(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A number for SVG coordinates: short and the same on every machine. */
function n(v: number): string {
  return String(Math.round(v * 10) / 10);
}

/** The colour of layer `i` (0-based): hues spread by the golden angle. */
function hue(i: number): number {
  return Math.round((i * 137.508 + 210) % 360);
}

function overview(images: ReportImage[]): string {
  return [
    '<section><h2>Images</h2>',
    table(
      ['image', 'store paths', 'size', 'store layers', 'budget used', 'strategy'],
      images.map((img) => [
        cellText(img.label, img.name),
        cellNum(img.pathCount, String(img.pathCount)),
        cellNum(img.size, humanSize(img.size)),
        cellNum(img.layers.length, String(img.layers.length)),
        cellNum(img.budget.used, `${img.budget.used} of ${img.budget.max}`),
        cellText(img.strategy),
      ]),
    ),
    '</section>',
  ].join('\n');
}

function imageSection(img: ReportImage, k: number): string {
  const paths = img.layers.flatMap((l) => l.paths.map((p) => ({ ...p, layer: l.index })));
  const popularity = paths.some((p) => p.popularity !== undefined);
  const shared = img.layers.some((l) => l.sharedWith.length > 0);
  return [
    `<section class="image" id="image-${k + 1}">`,
    `<h2>Image ${esc(img.label)}</h2>`,
    `<p class="summary"><code>${esc(img.name)}</code><br>${esc(imageSummary(img))}</p>`,
    budgetBar(img),
    '<h3>Layer sizes</h3>',
    barChart(img),
    '<h3>Store paths in each layer</h3>',
    '<p class="note">Each coloured block is a layer (numbered as in the tables), each cell inside it a store path, by area its share of the image. Hover for names and sizes.</p>',
    treemap(img),
    '<h3>Layers</h3>',
    table(
      ['layer', 'size', 'share', 'paths', 'largest paths', 'why together', ...(shared ? ['also in'] : [])],
      img.layers.map((l) => [
        cellNum(l.index, `<span class="swatch" style="background:hsl(${hue(l.index - 1)},55%,55%)"></span>${l.index}`, true),
        cellNum(l.size, humanSize(l.size)),
        cellNum(l.share, `<span class="share"><span style="width:${n(l.share * 100)}%"></span></span>${percent(l.share)}`, true),
        cellNum(l.paths.length, String(l.paths.length)),
        cellText(firstFew(l.paths.map((p) => shortName(p.path)))),
        cellText(l.why),
        ...(shared ? [cellText(l.sharedWith.join(', '))] : []),
      ]),
    ),
    img.largest.length === 0
      ? ''
      : '<h3>Largest paths</h3>\n' +
        table(
          ['size', 'layer', 'store path'],
          img.largest.map((p) => [cellNum(p.size!, humanSize(p.size!)), cellNum(p.layer, String(p.layer)), cellText(p.path)]),
        ),
    `<details><summary>Every store path (${paths.length})</summary>`,
    table(
      ['layer', 'size', ...(popularity ? ['popularity'] : []), 'store path'],
      paths.map((p) => [
        cellNum(p.layer, String(p.layer)),
        p.size === null ? cellNum(-1, '?') : cellNum(p.size, humanSize(p.size)),
        ...(popularity ? [cellNum(p.popularity ?? 0, String(p.popularity ?? ''))] : []),
        cellText(p.path),
      ]),
    ),
    '</details>',
    '</section>',
  ].join('\n');
}

function budgetBar(img: ReportImage): string {
  const used = Math.min(1, img.budget.used / img.budget.max);
  return `<p class="budget">Layer budget: <span class="share wide"><span style="width:${n(used * 100)}%"></span></span> ${img.budget.used} of ${img.budget.max} layers used (${img.layers.length} store layers and the customisation layer)</p>`;
}

const CHART_WIDTH = 960;

/** Horizontal bars, one per layer, bottom layer first. */
function barChart(img: ReportImage): string {
  const row = 22;
  const labelWidth = 70;
  const valueWidth = 150;
  const barWidth = CHART_WIDTH - labelWidth - valueWidth;
  const max = Math.max(1, ...img.layers.map((l) => l.size));
  const height = img.layers.length * row + 4;
  const bars = img.layers.map((l, i) => {
    const y = i * row + 2;
    const w = Math.max(1, (l.size / max) * barWidth);
    const tip = `layer ${l.index}: ${humanSize(l.size)}, ${percent(l.share)} of the image, ${l.paths.length} store path(s)`;
    return (
      `<g><title>${esc(tip)}</title>` +
      `<text x="${labelWidth - 8}" y="${n(y + row / 2 + 4)}" text-anchor="end">layer ${l.index}</text>` +
      `<rect x="${labelWidth}" y="${y + 3}" width="${n(w)}" height="${row - 6}" rx="2" fill="hsl(${hue(i)},55%,55%)"></rect>` +
      `<text x="${n(labelWidth + w + 6)}" y="${n(y + row / 2 + 4)}">${esc(`${humanSize(l.size)}  ${percent(l.share)}`)}</text></g>`
    );
  });
  return `<svg class="chart bars" role="img" aria-label="layer sizes" width="${CHART_WIDTH}" height="${height}" viewBox="0 0 ${CHART_WIDTH} ${height}">${bars.join('')}</svg>`;
}

/** Layers as blocks sized by bytes, each split into its store paths (squarified). */
function treemap(img: ReportImage): string {
  const height = 520;
  const blocks = squarify(img.layers.map((l) => l.size), { x: 0, y: 0, w: CHART_WIDTH, h: height });
  const parts: string[] = [];
  img.layers.forEach((l, i) => {
    const b = blocks[i]!;
    if (b.w <= 0 || b.h <= 0) return;
    const header = b.h > 40 && b.w > 40 ? 16 : 0;
    parts.push(`<g><title>${esc(`layer ${l.index}: ${humanSize(l.size)}, ${l.paths.length} store path(s)`)}</title><rect class="layer" x="${n(b.x)}" y="${n(b.y)}" width="${n(b.w)}" height="${n(b.h)}" fill="hsl(${hue(i)},45%,35%)"></rect>`);
    if (header) parts.push(label(`layer ${l.index}`, { x: b.x, y: b.y, w: b.w, h: header }, 'layer-label'));
    parts.push('</g>');
    const inner: Rect = { x: b.x + 2, y: b.y + header + 1, w: Math.max(0, b.w - 4), h: Math.max(0, b.h - header - 3) };
    const known = l.paths.every((p) => p.size !== null);
    const cells = known ? squarify(l.paths.map((p) => p.size!), inner) : [inner];
    cells.forEach((c, j) => {
      if (c.w < 0.5 || c.h < 0.5) return;
      const p = l.paths[j]!;
      const name = known ? shortName(p.path) : `${l.paths.length} store paths`;
      const tip = known ? `${p.path}\n${humanSize(p.size!)} in layer ${l.index}` : `layer ${l.index}: ${l.paths.map((q) => shortName(q.path)).join(', ')}`;
      const light = 62 + ((j * 7) % 16);
      parts.push(
        `<g><title>${esc(tip)}</title><rect x="${n(c.x)}" y="${n(c.y)}" width="${n(c.w)}" height="${n(c.h)}" fill="hsl(${hue(i)},55%,${light}%)"></rect>` +
          label(name, c, 'path-label') +
          '</g>',
      );
    });
  });
  return `<svg class="chart treemap" role="img" aria-label="store paths per layer" width="${CHART_WIDTH}" height="${height}" viewBox="0 0 ${CHART_WIDTH} ${height}">${parts.join('')}</svg>`;
}

/** A label inside a rectangle when it fits (about 6.5 px a character at 11 px), cut with an ellipsis when nearly. */
function label(text: string, r: Rect, cls: string): string {
  if (r.h < 14 || r.w < 30) return '';
  const fits = Math.floor((r.w - 8) / 6.5);
  const shown = text.length <= fits ? text : fits >= 6 ? text.slice(0, fits - 1) + '…' : '';
  if (shown === '') return '';
  return `<text class="${cls}" x="${n(r.x + 4)}" y="${n(r.y + 12)}">${esc(shown)}</text>`;
}

function sharingSection(images: ReportImage[], sharing: Sharing): string {
  const head = ['', ...images.map((i) => i.label)];
  const rows = sharing.matrix.map((row, i) => [
    `<th scope="row">${esc(images[i]!.label)}</th>`,
    ...row.map((bytes, j) => {
      if (i === j) return `<td class="num diag" title="${esc(`${images[i]!.label}: ${humanSize(bytes)}`)}">${humanSize(bytes)}</td>`;
      const smaller = Math.min(images[i]!.size, images[j]!.size);
      const part = smaller === 0 ? 0 : bytes / smaller;
      const tip = `${images[i]!.label} and ${images[j]!.label} share ${humanSize(bytes)} of identical layers (${percent(part)} of the smaller image)`;
      return `<td class="num" style="background:rgba(37,99,235,${n(part * 0.85)});color:${part > 0.5 ? '#fff' : '#111'}" title="${esc(tip)}">${humanSize(bytes)}<br><small>${percent(part)}</small></td>`;
    }),
  ]);
  return [
    '<section><h2>Sharing between images</h2>',
    `<p>${images.length} images hold ${humanSize(sharing.total)} of layers; a registry stores ${humanSize(sharing.stored)}, identical layers once: sharing saves <b>${humanSize(sharing.saved)}</b> (${percent(sharing.total === 0 ? 0 : sharing.saved / sharing.total)}).</p>`,
    '<p class="note">Each cell: the bytes of identical layers the two images both hold, and their part of the smaller image; the diagonal is each image\'s size.</p>',
    `<table class="matrix"><thead><tr>${head.map((h) => `<th scope="col">${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows.map((r) => `<tr>${r.join('')}</tr>`).join('\n')}</tbody></table>`,
    sharing.layers.length === 0
      ? '<p>No layer is identical in two images.</p>'
      : '<h3>Shared layers</h3>\n' +
        table(
          ['size', 'images', 'paths', 'store paths'],
          sharing.layers.map((l) => [
            cellNum(l.size, humanSize(l.size)),
            cellText(l.images.join(', ')),
            cellNum(l.paths.length, String(l.paths.length)),
            cellText(firstFew(l.paths.map(shortName))),
          ]),
        ),
    '</section>',
  ].join('\n');
}

function comparisonSection(sim: Simulation): string {
  const best = Math.min(...sim.results.map((r) => r.excess));
  const metric = (m: { bytes: number; bound: number }): string =>
    cellNum(m.bytes, `${humanSize(m.bytes)} <small>+${humanSize(m.bytes - m.bound)}</small>`, true);
  const first = sim.results[0];
  return [
    '<section><h2>Strategies compared</h2>',
    `<p>Every strategy at --max-layers ${sim.maxLayers}, as <code>strata simulate</code> computes it: what a registry stores for these images, what hosts re-pull when the applications change, and when each of ${sim.libraries.length} libraries changes. Small print: the excess over the lower bound. The lowest total excess is marked.</p>`,
    table(
      ['strategy', 'registry stores', 'app update re-pulls', 'library updates re-pull', 'total excess'],
      [
        ...sim.results.map((r) => [
          cellText(r.excess === best ? `${r.strategy} ★` : r.strategy),
          metric(r.fleet),
          metric(r.app),
          metric(r.library),
          cellNum(r.excess, humanSize(r.excess)),
        ]),
      ],
    ),
    first ? `<p class="note">Lower bounds: registry ${humanSize(first.fleet.bound)}, app updates ${humanSize(first.app.bound)}, library updates ${humanSize(first.library.bound)}.</p>` : '',
    '</section>',
  ].join('\n');
}

/** A table cell holding text (escaped here). */
function cellText(text: string, title?: string): string {
  return `<td${title === undefined ? '' : ` title="${esc(title)}"`}>${esc(text)}</td>`;
}

/** A numeric cell: sorts by `value`; `html` is trusted markup when `raw`, else escaped. */
function cellNum(value: number, html: string, raw = false): string {
  return `<td class="num" data-v="${value}">${raw ? html : esc(html)}</td>`;
}

function table(head: string[], rows: string[][]): string {
  return (
    `<table class="sortable"><thead><tr>${head.map((h, i) => `<th scope="col"${rows[0]?.[i]?.startsWith('<td class="num"') ? ' class="num"' : ''}>${esc(h)}</th>`).join('')}</tr></thead>\n` +
    `<tbody>\n${rows.map((r) => `<tr>${r.join('')}</tr>`).join('\n')}\n</tbody></table>`
  );
}

const STYLE = `
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Liberation Sans",sans-serif;color:#1f2328;background:#f6f8fa}
main{max-width:1000px;margin:0 auto;padding:16px 20px 40px}
h1{font-size:22px;margin:8px 0}
h2{font-size:18px;margin:28px 0 6px;border-bottom:1px solid #d0d7de;padding-bottom:4px}
h3{font-size:15px;margin:18px 0 6px}
section{background:#fff;border:1px solid #d0d7de;border-radius:6px;padding:4px 16px 14px;margin:16px 0}
.intro,.note{color:#57606a}
code{font:12px ui-monospace,"DejaVu Sans Mono",monospace;word-break:break-all}
table{border-collapse:collapse;width:100%;margin:6px 0;font-size:13px}
th,td{border-bottom:1px solid #eaeef2;padding:4px 8px;text-align:left;vertical-align:top}
td{word-break:break-word}
th{background:#f6f8fa;white-space:nowrap}
table.sortable th{cursor:pointer;user-select:none}
table.sortable th::after{content:" \\2195";color:#8c959f}
table.sortable th[aria-sort=ascending]::after{content:" \\2191";color:#1f2328}
table.sortable th[aria-sort=descending]::after{content:" \\2193";color:#1f2328}
td.num,th.num{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}
.swatch{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:6px}
.share{display:inline-block;width:60px;height:8px;background:#eaeef2;border-radius:4px;margin-right:6px;vertical-align:middle;overflow:hidden}
.share.wide{width:200px}
.share span{display:block;height:100%;background:#2563eb}
svg.chart{display:block;max-width:100%;height:auto;font:11px system-ui,sans-serif}
svg.chart text{fill:#1f2328}
svg.treemap rect{stroke:#fff;stroke-width:0.5}
svg.treemap rect.layer{stroke:#fff;stroke-width:2}
svg.treemap text.layer-label{fill:#fff;font-weight:600}
svg.treemap text.path-label{fill:#111}
table.matrix{width:auto}
table.matrix td,table.matrix th{border:1px solid #d0d7de;text-align:center;min-width:90px}
table.matrix td.diag{background:#eaeef2}
details{margin:10px 0}
summary{cursor:pointer;color:#0969da}
`;

/** Installed first, so errors of the page's script are caught too. */
const ERRORS = `window.__errors=[];window.addEventListener("error",function(e){window.__errors.push(String(e.message));document.documentElement.setAttribute("data-errors",window.__errors.join(" | "));});`;

const SCRIPT = `
(function(){
  function key(cell){var v=cell.getAttribute("data-v");return v===null?cell.textContent.toLowerCase():Number(v);}
  document.querySelectorAll("table.sortable").forEach(function(table){
    var heads=table.querySelectorAll("thead th");
    heads.forEach(function(th,col){
      th.addEventListener("click",function(){
        var asc=th.getAttribute("aria-sort")!=="ascending";
        heads.forEach(function(h){h.removeAttribute("aria-sort");});
        th.setAttribute("aria-sort",asc?"ascending":"descending");
        var body=table.tBodies[0];
        var rows=Array.prototype.slice.call(body.rows);
        rows.sort(function(a,b){var x=key(a.cells[col]),y=key(b.cells[col]);var c=x<y?-1:x>y?1:0;return asc?c:-c;});
        rows.forEach(function(r){body.appendChild(r);});
      });
    });
  });
  var drawn=0;
  document.querySelectorAll("svg.chart").forEach(function(svg){
    var shapes=Array.prototype.filter.call(svg.querySelectorAll("rect"),function(r){var b=r.getBBox();return b.width>0&&b.height>0;});
    if(shapes.length>0)drawn++;
  });
  document.body.setAttribute("data-drawn",String(drawn));
})();
`;
