import { StrataError } from '../../errors.js';
import type { Format } from '../../image/format.js';
import { openOutput } from '../../output.js';
import { readDockerArchive } from './reader.js';

/** `docker save`'s archive, as `docker load` and nixpkgs' streamLayeredImage have it. */
export const dockerArchive: Format = {
  name: 'docker-archive',
  reader: { kind: 'archive', marker: 'manifest.json', markerText: 'a manifest.json (docker-archive)', read: readDockerArchive },
  async openSink(reference, options) {
    if (options.compression && options.compression !== 'none') {
      throw new StrataError(`--compression ${options.compression}: docker-archive holds uncompressed layers (as docker load expects); use --to oci:DIR or oci-archive:FILE`);
    }
    const { DockerArchiveSink } = await import('./writer.js');
    const output = openOutput(reference === '' ? '-' : reference);
    return { sink: new DockerArchiveSink(output.sink, options.progress, options.cache, { nixpkgsNames: options.nixpkgsNames }), commit: output.commit, abort: output.abort };
  },
};
