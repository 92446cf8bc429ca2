import type { Argv } from 'yargs';
import { pushImage } from '../build/push.js';
import { imageName, layerOptions, sbomOptions, sbomSettings, sinkSettings } from './options.js';

export const pushCommand = <T>(y: Argv<T>) =>
  y.command(
    'push <source> <destination>',
    'push an image (docker-archive, oci:DIR[:REF], oci-archive:FILE[:REF], docker://...) to a registry, sending only the blobs it lacks',
    (y) =>
      sbomOptions(layerOptions(y))
        .positional('source', { type: 'string', demandOption: true, coerce: imageName, describe: 'the image: a docker-archive file (plain or compressed), oci:DIR[:REF], oci-archive:FILE[:REF], docker://HOST/REPO[:TAG|@DIGEST], or - for an archive on standard input (./result | strata push - docker://...)' })
        .positional('destination', { type: 'string', demandOption: true, describe: 'docker://HOST[:PORT]/REPO[:TAG|@DIGEST]' }),
    async (a) => {
      await pushImage({ ...sinkSettings(a), source: a.source, destination: a.destination, sbom: sbomSettings(a) });
    },
  );
