import type { Argv } from 'yargs';
import { imageName, registryReadOptions, registrySourceSettings } from './options.js';
import { parsePlatform } from '../image/platform.js';
import { inspectImage, inspectionText } from '../inspect/inspect.js';

export const inspectCommand = <T>(y: Argv<T>) =>
  y.command(
    'inspect <image>',
    'show an image\'s layers (digests, sizes, store paths) and config, without reading its layers',
    (y) =>
      registryReadOptions(y)
        .positional('image', { type: 'string', demandOption: true, coerce: imageName, describe: 'docker-archive:FILE, oci:DIR[:REF], oci-archive:FILE[:REF], docker://HOST/REPO[:TAG|@DIGEST], or a path (a layout directory or an archive, plain or compressed), or - for an archive on standard input' })
        .option('json', { type: 'boolean', describe: 'print the inspection as JSON' })
        .option('platform', { type: 'string', describe: 'OS/ARCH[/VARIANT] of the image to show from a multi-platform index' }),
    async (a) => {
      const inspection = await inspectImage({ image: a.image, platform: a.platform === undefined ? undefined : parsePlatform(a.platform), source: { registry: registrySourceSettings(a) } });
      process.stdout.write(a.json ? JSON.stringify(inspection, null, 2) + '\n' : inspectionText(inspection));
    },
  );
