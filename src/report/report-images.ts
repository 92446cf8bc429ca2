import { loadClosure } from '../closure/stores/table.js';
import { type PlanningOptions, planClosure } from '../build/plan-image.js';
import { StrataError } from '../errors.js';
import { readPlanFile } from '../plan/plan-file.js';
import { reportToHtml } from './html.js';
import { reportToMarkdown } from './markdown.js';
import { type ReportInput, buildReport } from './model.js';
import { reportToText } from './text.js';

export const REPORT_FORMATS = ['text', 'markdown', 'json', 'html'] as const;

/** What `strata report` takes: images as store paths, graph files or plan files, and how to plan them. */
export interface ReportOptions extends PlanningOptions {
  roots?: string[];
  graphs?: string[];
  graphKey?: string;
  storeDir?: string;
  store?: 'nix' | 'guix';
  /** Plans written by `strata plan --format json` (they give layer sizes, not path sizes). */
  plans?: string[];
  /** Add the numbers of `strata simulate` for every strategy at maxLayers. */
  compare?: boolean;
  format?: (typeof REPORT_FORMATS)[number];
  warn?(message: string): void;
}

/** The report on some images, as text, markdown, JSON or one HTML page. */
export async function reportImages(options: ReportOptions): Promise<string> {
  const report = buildReport(await reportInputs(options), { compare: options.compare });
  switch (options.format ?? 'text') {
    case 'json':
      return JSON.stringify(report, null, 2) + '\n';
    case 'markdown':
      return reportToMarkdown(report);
    case 'html':
      return reportToHtml(report);
    default:
      return reportToText(report);
  }
}

async function reportInputs(o: ReportOptions): Promise<ReportInput[]> {
  const roots = o.roots ?? [];
  const graphs = o.graphs ?? [];
  const plans = o.plans ?? [];
  if (plans.length > 0) {
    if (roots.length > 0 || graphs.length > 0) throw new StrataError('report: give store paths, --graph FILE or --plan FILE, not several kinds');
    return Promise.all(plans.map(async (file) => ({ name: file, plan: await readPlanFile(file) })));
  }
  if (roots.length === 0 && graphs.length === 0) throw new StrataError('report: name the images: store paths, --graph FILE or --plan FILE');
  const inputs: ReportInput[] = [];
  const planned = async (name: string, closure: ReportInput['closure'] & object): Promise<void> => {
    inputs.push({ name, closure, plan: await planClosure(closure, o), pipeline: o.layeringPipeline !== undefined });
  };
  for (const g of graphs) await planned(g, await loadClosure({ graph: g, graphKey: o.graphKey, storeDir: o.storeDir, warn: o.warn }));
  for (const r of roots) await planned(r, await loadClosure({ roots: [r], storeDir: o.storeDir, store: o.store, warn: o.warn }));
  return inputs;
}
