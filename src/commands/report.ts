import type { Argv } from 'yargs';
import { writeOutput } from '../output.js';
import { REPORT_FORMATS, reportImages } from '../report/report-images.js';
import { outputOption, planningOptions, planningSettings, warn } from './options.js';

export const reportCommand = <T>(y: Argv<T>) =>
  y.command(
    'report [roots..]',
    'explain a layer plan: per layer its size, share, paths and why they are together; sharing between images; --compare strategies',
    (y) =>
      outputOption(planningOptions(y))
        .positional('roots', { type: 'string', array: true, describe: 'store paths (or links to them), one image each' })
        .option('graph', { type: 'string', array: true, describe: 'a reference graph file, one image each (repeatable)' })
        .option('graph-key', { type: 'string', describe: 'the .attrs.json key holding the graph, when there are several' })
        .option('store-dir', { type: 'string', describe: 'the store directory (default: inferred from the paths, else /nix/store)' })
        .option('store', { choices: ['nix', 'guix'] as const, default: 'nix' as const, describe: 'which store to ask for the closure of the roots: nix-store, or guix gc' })
        .option('plan', { type: 'string', array: true, describe: 'a plan written by strata plan --format json, one image each (repeatable; it gives layer sizes, not path sizes)' })
        .option('format', { choices: REPORT_FORMATS, default: 'text' as const, describe: 'text for a terminal, markdown, json (the report\'s data), or html (one self-contained page with charts)' })
        .option('compare', { type: 'boolean', describe: 'add the numbers of strata simulate for every strategy at --max-layers' }),
    async (a) => {
      const text = await reportImages({
        ...planningSettings(a),
        roots: a.roots,
        graphs: a.graph,
        graphKey: a['graph-key'],
        storeDir: a['store-dir'],
        store: a.store,
        plans: a.plan,
        compare: a.compare,
        format: a.format,
        warn,
      });
      await writeOutput(text, a.output);
    },
  );
