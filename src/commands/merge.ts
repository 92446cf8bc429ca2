import type { Argv } from 'yargs';
import { mergeImages } from '../build/merge.js';

export const mergeCommand = <T>(y: Argv<T>) =>
  y.command(
    'merge <images..>',
    'write several images in one docker-archive that docker load reads at once (nixpkgs\' mergeImages), shared layers once',
    (y) =>
      y
        .positional('images', { type: 'string', array: true, demandOption: true, describe: 'docker-archive files (plain or compressed), oci:DIR[:REF], oci-archive:FILE[:REF], docker://HOST/REPO[:TAG|@DIGEST]' })
        .option('output', { alias: 'o', type: 'string', default: '-', describe: 'the docker-archive FILE (default: standard output)' }),
    async (a) => {
      await mergeImages({ images: a.images, output: a.output });
    },
  );
