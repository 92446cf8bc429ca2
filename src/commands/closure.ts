import type { Argv } from 'yargs';
import { loadClosure } from '../closure/stores/table.js';
import { closureOptions, closureSource } from './options.js';

export const closureCommand = <T>(y: Argv<T>) =>
  y.command(
    'closure [roots..]',
    'print the closure of store paths, with sizes and references',
    (y) => closureOptions(y).option('json', { type: 'boolean', describe: 'print [{path, narSize, references}]' }),
    async (a) => {
      const closure = await loadClosure(closureSource(a));
      // The NAR hash, where known, is the SBOM's: closure --json keeps its format.
      process.stdout.write(a.json ? JSON.stringify(closure.paths.map(({ path, narSize, references }) => ({ path, narSize, references })), null, 2) + '\n' : closure.paths.map((p) => p.path + '\n').join(''));
    },
  );
