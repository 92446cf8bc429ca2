import type { CommandModule } from 'yargs';
import { mergeImages } from '../image/merge.js';

export const mergeCommand: CommandModule<object, { images: string[]; output: string }> = {
  command: 'merge <images..>',
  describe: 'write several images in one docker-archive that docker load reads at once (nixpkgs\' mergeImages), shared layers once',
  builder: (y) =>
    y
      .positional('images', { type: 'string', array: true, demandOption: true, describe: 'docker-archive files (plain or compressed), oci:DIR[:REF], oci-archive:FILE[:REF]' })
      .option('output', { alias: 'o', type: 'string', default: '-', describe: 'the docker-archive FILE (default: standard output)' }),
  handler: async (a) => {
    await mergeImages(a.images, a.output);
  },
};
