import { shortName } from '../closure/store-path.js';
import { firstFew, humanSize } from '../util/text.js';
import { simulationToText } from '../plan/simulate.js';
import type { Report, ReportImage } from './model.js';

/** Paths a layer shows in text; the rest are counted. */
const SHOWN = 5;

export function percent(share: number): string {
  return share > 0 && share < 0.0005 ? '<0.1%' : `${(share * 100).toFixed(1)}%`;
}

/** `1 store path`, `2 store paths`. */
function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

/** One line about an image: paths, bytes, layers, budget and strategy. */
export function imageSummary(img: ReportImage): string {
  return (
    `${count(img.pathCount, 'store path')}, ${humanSize(img.size)} (${img.size} bytes) in ${count(img.layers.length, 'store layer')}; ` +
    `${img.budget.used} of --max-layers ${img.budget.max} used (with the customisation layer); strategy ${img.strategy}`
  );
}

/** The report for a terminal: one block per image, then sharing and the comparison. */
export function reportToText(report: Report): string {
  const out: string[] = [];
  for (const img of report.images) {
    out.push(`image ${img.label}  (${img.name})`, `  ${imageSummary(img)}`, '');
    out.push('  layer        size   share  paths');
    for (const l of img.layers) {
      const names = firstFew(l.paths.map((p) => (p.size === null ? shortName(p.path) : `${shortName(p.path)} ${humanSize(p.size)}`)), ', ', SHOWN);
      out.push(`  ${String(l.index).padStart(5)}  ${humanSize(l.size).padStart(10)}  ${percent(l.share).padStart(6)}  ${names}`);
      out.push(`  ${' '.repeat(27)}why: ${l.why}`);
      if (l.sharedWith.length > 0) out.push(`  ${' '.repeat(27)}also in: ${l.sharedWith.join(', ')}`);
    }
    if (img.largest.length > 0) {
      out.push('', '  largest paths');
      for (const p of img.largest) out.push(`  ${humanSize(p.size!).padStart(10)}  layer ${String(p.layer).padEnd(4)} ${p.path}`);
    }
    out.push('');
  }
  const sharing = report.sharing;
  if (sharing) {
    out.push(`sharing: ${report.images.length} images hold ${humanSize(sharing.total)}; a registry stores ${humanSize(sharing.stored)} (identical layers once), saving ${humanSize(sharing.saved)}`);
    for (const l of sharing.layers) {
      const names = firstFew(l.paths.map(shortName), ', ', SHOWN);
      out.push(`  ${humanSize(l.size).padStart(10)}  in ${l.images.join(', ')}: ${names}`);
    }
    if (sharing.layers.length === 0) out.push('  no layer is identical in two images');
    out.push('');
  }
  if (report.comparison) out.push('strategies compared (bytes; see strata simulate)', simulationToText(report.comparison));
  return out.join('\n').replace(/\n*$/, '\n');
}
