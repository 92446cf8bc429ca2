import type { CommandModule } from 'yargs';
import { loadClosure } from '../closure/load.js';
import { StrataError } from '../errors.js';
import { openOutput } from '../output.js';
import { readPlanFile } from '../plan/plan-file.js';
import { reportToHtml } from '../report/html.js';
import { reportToMarkdown } from '../report/markdown.js';
import { type ReportInput, buildReport } from '../report/model.js';
import { reportToText } from '../report/text.js';
import { type ClosureArgs, type PlanningArgs, planClosure, planOptions, warn } from './options.js';

const FORMATS = ['text', 'markdown', 'json', 'html'] as const;

type ReportArgs = Omit<ClosureArgs, 'graph'> & PlanningArgs & { graph?: string[]; plan?: string[]; format: (typeof FORMATS)[number]; output?: string; compare?: boolean };

export const reportCommand: CommandModule<object, ReportArgs> = {
  command: 'report [roots..]',
  describe: 'explain a layer plan: per layer its size, share, paths and why they are together; sharing between images; --compare strategies',
  builder: (y) =>
    planOptions(y)
      .positional('roots', { type: 'string', array: true, describe: 'store paths (or links to them), one image each' })
      .option('graph', { type: 'string', array: true, describe: 'a reference graph file, one image each (repeatable)' })
      .option('plan', { type: 'string', array: true, describe: 'a plan written by strata plan --format json, one image each (repeatable; it gives layer sizes, not path sizes)' })
      .option('format', { choices: FORMATS, default: 'text' as const, describe: 'text for a terminal, markdown, json (the report\'s data), or html (one self-contained page with charts)' })
      .option('output', { alias: 'o', type: 'string', describe: 'write to FILE (complete or not at all) instead of stdout' })
      .option('compare', { type: 'boolean', describe: 'add the numbers of strata simulate for every strategy at --max-layers' }),
  handler: async (a) => {
    const report = buildReport(await reportInputs(a), { compare: a.compare });
    const text =
      a.format === 'json' ? JSON.stringify(report, null, 2) + '\n' : a.format === 'markdown' ? reportToMarkdown(report) : a.format === 'html' ? reportToHtml(report) : reportToText(report);
    await writeText(text, a.output);
  },
};

async function reportInputs(a: ReportArgs): Promise<ReportInput[]> {
  const roots = a.roots ?? [];
  const graphs = a.graph ?? [];
  const plans = a.plan ?? [];
  if (plans.length > 0) {
    if (roots.length > 0 || graphs.length > 0) throw new StrataError('report: give store paths, --graph FILE or --plan FILE, not several kinds');
    return Promise.all(plans.map(async (file) => ({ name: file, plan: await readPlanFile(file) })));
  }
  if (roots.length === 0 && graphs.length === 0) throw new StrataError('report: name the images: store paths, --graph FILE or --plan FILE');
  const inputs: ReportInput[] = [];
  const planned = async (name: string, closure: ReportInput['closure'] & object): Promise<void> => {
    inputs.push({ name, closure, plan: await planClosure(closure, a), pipeline: a['layering-pipeline'] !== undefined });
  };
  for (const g of graphs) await planned(g, await loadClosure({ graph: g, graphKey: a['graph-key'], storeDir: a['store-dir'], warn }));
  for (const r of roots) await planned(r, await loadClosure({ roots: [r], storeDir: a['store-dir'], store: a.store, warn }));
  return inputs;
}

/** Standard output, or a file that appears only once complete. */
export async function writeText(text: string, output: string | undefined): Promise<void> {
  if (output === undefined || output === '-') {
    process.stdout.write(text);
    return;
  }
  const out = openOutput(output);
  try {
    await out.sink.write(Buffer.from(text));
    await out.commit();
  } catch (e) {
    await out.abort();
    throw e;
  }
}
