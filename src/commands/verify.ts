import type { Argv } from 'yargs';
import { imageName, registryReadOptions, registrySourceSettings } from './options.js';
import { verifyImage } from '../inspect/verify.js';

export const verifyCommand = <T>(y: Argv<T>) =>
  y.command(
    'verify <image>',
    'check every digest, size and reference of an image (exit 4 naming the first mismatch)',
    (y) =>
      registryReadOptions(y)
        .positional('image', { type: 'string', demandOption: true, coerce: imageName, describe: 'docker-archive:FILE, oci:DIR[:REF], oci-archive:FILE[:REF], docker://HOST/REPO[:TAG|@DIGEST], or a path, or - for an archive on standard input' })
        .option('json', { type: 'boolean', describe: 'print {"image", "layers"} once every check passed' }),
    async (a) => {
      const { layers } = await verifyImage({ image: a.image, source: { registry: registrySourceSettings(a) } });
      process.stdout.write(a.json ? `${JSON.stringify({ image: a.image, layers })}\n` : `ok: ${layers} layers verified\n`);
    },
  );
