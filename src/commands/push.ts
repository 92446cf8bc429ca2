import type { Argv } from 'yargs';
import { pushImage } from '../build/push.js';
import { layerOptions, sinkSettings } from './options.js';

export const pushCommand = <T>(y: Argv<T>) =>
  y.command(
    'push <source> <destination>',
    'push an image (docker-archive, oci:DIR[:REF], oci-archive:FILE[:REF], docker://...) to a registry, sending only the blobs it lacks',
    (y) =>
      layerOptions(y)
        .positional('source', { type: 'string', demandOption: true, describe: 'the image: a docker-archive file, oci:DIR[:REF], oci-archive:FILE[:REF] or docker://HOST/REPO[:TAG|@DIGEST]' })
        .positional('destination', { type: 'string', demandOption: true, describe: 'docker://HOST[:PORT]/REPO[:TAG|@DIGEST]' }),
    async (a) => {
      await pushImage(a.source, a.destination, sinkSettings(a));
    },
  );
