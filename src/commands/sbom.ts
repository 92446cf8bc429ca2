import type { Argv } from 'yargs';
import { SBOM_FORMATS, type SbomFormat, closureSbom } from '../build/sbom.js';
import { writeOutput } from '../output.js';
import { closureOptions, closureSource, outputOption } from './options.js';

export const sbomCommand = <T>(y: Argv<T>) =>
  y.command(
    'sbom [roots..]',
    'write a JSON SBOM of a closure (CycloneDX 1.6, or SPDX 2.3): a component or package per store path (name, version, NAR hash and size), references as dependencies',
    (y) => outputOption(closureOptions(y)).option('format', { choices: SBOM_FORMATS, default: 'cyclonedx' as SbomFormat, describe: 'CycloneDX 1.6 JSON, or SPDX 2.3 JSON' }),
    async (a) => writeOutput(await closureSbom({ ...closureSource(a), format: a.format }), a.output),
  );
