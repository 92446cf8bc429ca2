import type { Argv } from 'yargs';
import { imageName } from './options.js';
import { exportImage } from '../build/flatten.js';

export const exportCommand = <T>(y: Argv<T>) =>
  y.command(
    'export <image>',
    'write the file system of an image as one tar: its layers applied in order, whiteouts honoured (nixpkgs\' exportImage, without a VM)',
    (y) =>
      y
        .positional('image', { type: 'string', demandOption: true, coerce: imageName, describe: 'docker-archive:FILE, oci:DIR[:REF], oci-archive:FILE[:REF], docker://HOST/REPO[:TAG|@DIGEST], or a path, or - for an archive on standard input' })
        .option('output', { alias: 'o', type: 'string', default: '-', describe: 'the tar FILE (default: standard output)' }),
    async (a) => {
      await exportImage({ image: a.image, output: a.output });
    },
  );
