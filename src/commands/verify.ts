import type { CommandModule } from 'yargs';
import { verifyImage } from '../inspect/verify.js';

export const verifyCommand: CommandModule<object, { image: string; json?: boolean }> = {
  command: 'verify <image>',
  describe: 'check every digest, size and reference of an image (exit 4 naming the first mismatch)',
  builder: (y) =>
    y
      .positional('image', { type: 'string', demandOption: true, describe: 'docker-archive:FILE, oci:DIR[:REF], oci-archive:FILE[:REF], or a path' })
      .option('json', { type: 'boolean', describe: 'print {"image", "layers"} once every check passed' }),
  handler: async (a) => {
    const { layers } = await verifyImage(a.image);
    process.stdout.write(a.json ? `${JSON.stringify({ image: a.image, layers })}\n` : `ok: ${layers} layers verified\n`);
  },
};
