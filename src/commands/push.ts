import type { Argv } from 'yargs';
import { pushImage } from '../build/push.js';
import { imageName, layerOptions, sbomOptions, sbomSettings, sinkSettings } from './options.js';

export const pushCommand = <T>(y: Argv<T>) =>
  y.command(
    'push <source> <destination>',
    'push an image (docker-archive, oci:DIR[:REF], oci-archive:FILE[:REF], docker://...) to a registry, sending only the blobs it lacks',
    (y) =>
      sbomOptions(
        layerOptions(y),
        'push an SBOM as an OCI 1.1 referrer of the pushed manifest (the referrers tag scheme where the registry has no referrers API): the one image or stream --sbom wrote beside the source file, else the one stored with an OCI layout or registry source, else one made from the image history\'s store paths (as strata sbom --image); for a multi-platform source, one referring to each platform\'s manifest',
      )
        .positional('source', { type: 'string', demandOption: true, coerce: imageName, describe: 'the image: a docker-archive file (plain or compressed), oci:DIR[:REF], oci-archive:FILE[:REF], docker://HOST/REPO[:TAG|@DIGEST], or - for an archive on standard input (./result | strata push - docker://...)' })
        .positional('destination', { type: 'string', demandOption: true, describe: 'docker://HOST[:PORT]/REPO[:TAG|@DIGEST]' })
        .option('reuse', { type: 'string', array: true, describe: 'an image of the same registry, docker://HOST/REPO[:TAG|@DIGEST] (repeatable), whose blobs may stand for the source\'s layers, found by layer key or diff_id and mounted, besides what the destination\'s tags name now' }),
    async (a) => {
      const settings = sinkSettings(a);
      await pushImage({ ...settings, registry: { ...settings.registry, reuseFrom: a.reuse }, source: a.source, destination: a.destination, sbom: sbomSettings(a) });
    },
  );
