import type { Argv } from 'yargs';
import { planImage } from '../build/plan-image.js';
import { writeOutput } from '../output.js';
import { planToJson, planToText } from '../plan/plan-file.js';
import { outputOption, planOptions, planSettings, registryReadOptions, registrySourceSettings } from './options.js';

export const planCommand = <T>(y: Argv<T>) =>
  y.command(
    'plan [roots..]',
    'group a closure\'s store paths into layers',
    (y) => registryReadOptions(outputOption(planOptions(y).option('format', { choices: ['text', 'json', 'order'] as const, default: 'text' as const, describe: 'order: the paths in layer order, one a line' }))),
    async (a) => {
      const plan = await planImage({ ...planSettings(a), base: { registry: registrySourceSettings(a) } });
      const text = a.format === 'json' ? planToJson(plan) : a.format === 'order' ? plan.layers.flatMap((l) => l.paths).join('\n') + '\n' : planToText(plan);
      await writeOutput(text, a.output);
    },
  );
