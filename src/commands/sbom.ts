import type { Argv } from 'yargs';
import { closureSbom } from '../build/sbom.js';
import { writeOutput } from '../output.js';
import { closureOptions, closureSource, outputOption } from './options.js';

export const sbomCommand = <T>(y: Argv<T>) =>
  y.command(
    'sbom [roots..]',
    'write a CycloneDX JSON SBOM of a closure: a component per store path (name, version, NAR hash and size), references as dependencies',
    (y) => outputOption(closureOptions(y)),
    async (a) => writeOutput(await closureSbom(closureSource(a)), a.output),
  );
