import type { Argv } from 'yargs';
import { STRATEGIES } from '../plan/plan.js';
import { simulateFleet, simulateFleetReleases } from '../plan/simulate-fleet.js';
import { releasesToText } from '../plan/simulate-reuse.js';
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
        .option('reuse', { type: 'boolean', describe: 'also plan each strategy with --reuse: the fleet in order, each image reusing the plans before it; each update reusing its previous plan, then the fleet\'s' })
        .option('releases', { type: 'number', describe: 'simulate N releases instead: each bumps --bump libraries and the applications, planned alone and with --reuse of the previous release' })
        .option('bump', { type: 'number', default: 3, describe: 'with --releases: libraries bumped per release' })
        .option('seed', { type: 'number', default: 1, describe: 'with --releases: seeds the choice of libraries' })
        .option('json', { type: 'boolean', describe: 'print the results as JSON' }),
    async (a) => {
      const fleet = { roots: a.roots, graphs: a.graph, storeDir: a['store-dir'], store: a.store, maxLayers: a['max-layers'], strategies: a.strategy, warn };
      if (a.releases !== undefined) {
        const { images, series } = await simulateFleetReleases({ ...fleet, releases: a.releases, bump: a.bump, seed: a.seed });
        process.stdout.write(a.json ? JSON.stringify(series, null, 2) + '\n' : `${images} images\n` + series.map(releasesToText).join('\n'));
        return;
      }
      const { images, simulations } = await simulateFleet({ ...fleet, libraries: a.library, libraryCount: a.libraries, reuse: a.reuse });
      process.stdout.write(a.json ? JSON.stringify(simulations, null, 2) + '\n' : `${images} images\n` + simulations.map(simulationToText).join('\n'));
    },
  );
