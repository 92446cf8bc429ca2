import type { Argv } from 'yargs';
import { buildImage } from '../build/write.js';
import { confOptions, confSettings } from './conf.js';
import { destinationOptions, printDescription, writeSettings } from './options.js';

export const imageCommand = <T>(y: Argv<T>) =>
  y.command(
    'image [roots..]',
    'closure, plan, conf and stream in one go: write a layered image of store paths',
    (y) => destinationOptions(confOptions(y)),
    async (a) => {
      printDescription(await buildImage({ ...confSettings(a), ...writeSettings(a) }));
    },
  );
