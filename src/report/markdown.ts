import { shortName } from '../closure/store-path.js';
import { firstFew, humanSize } from '../util/text.js';
import type { Simulation } from '../plan/simulate.js';
import type { Report } from './model.js';
import { imageSummary, percent } from './text.js';

/** Text safe in a table cell: pipes, backslashes, markup characters and line breaks escaped. */
function cell(text: string): string {
  return text.replace(/[\\`*_[\]<>|#]/g, (c) => `\\${c}`).replace(/\r?\n/g, ' ');
}

/** A table whose columns of numbers (counts, sizes, percentages) are right-aligned. */
function table(head: string[], rows: string[][]): string[] {
  const numeric = (c: number): boolean => rows.length > 0 && rows.every((r) => /^<?\d[\d.]*( [KMGT]?i?B|%)?( \(\+[^)]*\))?$/.test(r[c]!));
  return [`| ${head.join(' | ')} |`, `|${head.map((_, c) => (numeric(c) ? '---:' : '---')).join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)];
}

/** The report as GitHub-flavoured markdown: a section per image, then sharing and the comparison. */
export function reportToMarkdown(report: Report): string {
  const out: string[] = ['# Layer report', ''];
  for (const img of report.images) {
    out.push(`## Image ${cell(img.label)}`, '', `\`${img.name.replace(/`/g, "'")}\`: ${cell(imageSummary(img))}.`, '');
    out.push(
      ...table(
        ['#', 'size', 'share', 'paths', 'largest paths', 'why together'],
        img.layers.map((l) => {
          const top = firstFew(l.paths.map((p) => cell(shortName(p.path))));
          const also = l.sharedWith.length > 0 ? ` (also in ${l.sharedWith.map(cell).join(', ')})` : '';
          return [String(l.index), humanSize(l.size), percent(l.share), String(l.paths.length), top, cell(l.why) + also];
        }),
      ),
      '',
    );
    if (img.largest.length > 0) {
      out.push('### Largest paths', '', ...table(['size', 'layer', 'store path'], img.largest.map((p) => [humanSize(p.size!), String(p.layer), cell(p.path)])), '');
    }
    out.push(
      '<details><summary>Every store path, by layer</summary>',
      '',
      ...table(['layer', 'size', 'store path'], img.layers.flatMap((l) => l.paths.map((p) => [String(l.index), p.size === null ? '?' : humanSize(p.size), cell(p.path)]))),
      '',
      '</details>',
      '',
    );
  }
  const sharing = report.sharing;
  if (sharing) {
    const labels = report.images.map((i) => cell(i.label));
    out.push(
      '## Sharing',
      '',
      `${report.images.length} images hold ${humanSize(sharing.total)}; a registry stores ${humanSize(sharing.stored)} (identical layers once), saving ${humanSize(sharing.saved)}.`,
      '',
      'Bytes of identical layers each pair of images holds (the diagonal: the image\'s size):',
      '',
      ...table(['', ...labels], sharing.matrix.map((row, i) => [labels[i]!, ...row.map(humanSize)])),
      '',
    );
    if (sharing.layers.length > 0) {
      out.push(
        ...table(
          ['size', 'images', 'paths'],
          sharing.layers.map((l) => [humanSize(l.size), l.images.map(cell).join(', '), firstFew(l.paths.map((p) => cell(shortName(p))))]),
        ),
        '',
      );
    } else out.push('No layer is identical in two images.', '');
  }
  if (report.comparison) out.push(...comparisonMarkdown(report.comparison), '');
  return out.join('\n').replace(/\n*$/, '\n');
}

function comparisonMarkdown(sim: Simulation): string[] {
  const excess = (m: { bytes: number; bound: number }): string => `${humanSize(m.bytes)} (+${humanSize(m.bytes - m.bound)})`;
  const first = sim.results[0];
  return [
    '## Strategies compared',
    '',
    `At --max-layers ${sim.maxLayers}, ${sim.libraries.length} library update(s); each cell: bytes (excess over the lower bound), as \`strata simulate\` computes them.`,
    '',
    ...table(
      ['strategy', 'registry stores', 'app update re-pulls', 'library updates re-pull', 'total excess'],
      [
        ...sim.results.map((r) => [r.strategy, excess(r.fleet), excess(r.app), excess(r.library), humanSize(r.excess)]),
        ...(first ? [['lower bound', humanSize(first.fleet.bound), humanSize(first.app.bound), humanSize(first.library.bound), '0 B']] : []),
      ],
    ),
  ];
}
