import { readFile } from 'node:fs/promises';
import type { CommandModule } from 'yargs';
import { cycloneDx } from '../sbom/cyclonedx.js';
import { sbomModel } from '../sbom/sbom.js';
import { type ClosureArgs, closureFrom, closureOptions } from './options.js';
import { writeText } from './report.js';

type SbomArgs = ClosureArgs & { output?: string };

export const sbomCommand: CommandModule<object, SbomArgs> = {
  command: 'sbom [roots..]',
  describe: 'write a CycloneDX JSON SBOM of a closure: a component per store path (name, version, NAR hash and size), references as dependencies',
  builder: (y) => closureOptions(y).option('output', { alias: 'o', type: 'string', describe: 'write to FILE (complete or not at all) instead of stdout' }),
  handler: async (a) => {
    const { name, version } = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { name: string; version: string };
    await writeText(cycloneDx(sbomModel({ closure: await closureFrom(a), tool: { name, version } })), a.output);
  },
};
