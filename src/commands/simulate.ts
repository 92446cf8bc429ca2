import type { Argv } from 'yargs';
import { STRATEGIES } from '../plan/plan.js';
import { simulateFleet } from '../plan/simulate-fleet.js';
import { simulationToText } from '../plan/simulate.js';
import { warn } from './options.js';

export const simulateCommand = <T>(y: Argv<T>) =>
  y.command(
    'simulate [roots..]',
    'compare layering strategies on a fleet of images: registry bytes, and bytes re-pulled on app and library updates',
    (y) =>
      y
        .positional('roots', { type: 'string', array: true, describe: 'store paths, one image each' })
        .option('graph', { type: 'string', array: true, describe: 'a reference graph file, one image each (repeatable)' })
        .option('store-dir', { type: 'string', describe: 'the store directory' })
        .option('store', { choices: ['nix', 'guix'] as const, default: 'nix' as const })
        .option('max-layers', { type: 'number', array: true, default: [8, 16, 32], describe: 'budgets (counting the customisation layer), a table each' })
        .option('strategy', { choices: STRATEGIES, array: true, describe: 'strategies to compare (default all)' })
        .option('library', { type: 'string', array: true, describe: 'library store paths to update (default: --libraries paths sampled from the fleet)' })
        .option('libraries', { type: 'number', default: 10, describe: 'how many libraries to sample' })
        .option('json', { type: 'boolean', describe: 'print the results as JSON' }),
    async (a) => {
      const { images, simulations } = await simulateFleet({
        roots: a.roots,
        graphs: a.graph,
        storeDir: a['store-dir'],
        store: a.store,
        maxLayers: a['max-layers'],
        strategies: a.strategy,
        libraries: a.library,
        libraryCount: a.libraries,
        warn,
      });
      process.stdout.write(a.json ? JSON.stringify(simulations, null, 2) + '\n' : `${images} images\n` + simulations.map(simulationToText).join('\n'));
    },
  );
