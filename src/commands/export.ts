import type { CommandModule } from 'yargs';
import { exportImage } from '../image/flatten.js';

export const exportCommand: CommandModule<object, { image: string; output: string }> = {
  command: 'export <image>',
  describe: 'write the file system of an image as one tar: its layers applied in order, whiteouts honoured (nixpkgs\' exportImage, without a VM)',
  builder: (y) =>
    y
      .positional('image', { type: 'string', demandOption: true, describe: 'docker-archive:FILE, oci:DIR[:REF], oci-archive:FILE[:REF], or a path' })
      .option('output', { alias: 'o', type: 'string', default: '-', describe: 'the tar FILE (default: standard output)' }),
  handler: async (a) => {
    await exportImage(a.image, a.output);
  },
};
