import { StrataError } from '../../errors.js';
import { type CommonSinkOptions, type Format, pathAndRef } from '../../image/format.js';
import type { ImageSink } from '../../model/image.js';
import { type ByteSink, openOutput, writeOutput } from '../../output.js';
import type { HeldLayer } from './writer.js';

// The writer, loaded once, on the first prepareSink or sink.
let writer: Promise<typeof import('./writer.js')> | undefined;
const loadWriter = (): Promise<typeof import('./writer.js')> => (writer ??= import('./writer.js'));

/** `docker save`'s archive, as `docker load` and nixpkgs' streamLayeredImage have it. */
export const dockerArchive: Format = {
  name: 'docker-archive',
  reader: { kind: 'archive', marker: 'manifest.json', markerText: 'a manifest.json (docker-archive)', read: async (archive, name, ref) => (await import('./reader.js')).readDockerArchive(archive, name, ref) },
  async openSink(reference, options) {
    if (options.compression && options.compression !== 'none') {
      throw new StrataError(`--compression ${options.compression}: docker-archive holds uncompressed layers (as docker load expects); use --to oci:DIR or oci-archive:FILE`);
    }
    // FILE[:NAME:TAG], as skopeo names a docker-archive destination.
    const [path, named] = pathAndRef(reference);
    // The tag is after the last colon that follows the last slash (a registry's port comes before).
    const repoTag = named === undefined || named.lastIndexOf(':') > named.lastIndexOf('/') ? named : `${named}:latest`;
    const { DockerArchiveSink } = await loadWriter();
    const output = openOutput(path === '' ? '-' : path);
    return { sink: new DockerArchiveSink(output.sink, options.progress, options.cache, { nixpkgsNames: options.nixpkgsNames, repoTag }), commit: output.commit, abort: output.abort };
  },
  // A failure to load is the sink's to report.
  prepareSink: () => void loadWriter().catch(() => {}),
  // Beside the file: app.tar.cdx.json.
  async attach(reference, doc) {
    const [path] = pathAndRef(reference);
    await writeOutput(doc.document().toString('utf8'), `${path}${doc.suffix}`);
    return `${path}${doc.suffix}`;
  },
};

/** The archive as a stream to any byte sink (an engine's load request); layers the reader holds go as empty members. */
export async function archiveWriter(out: ByteSink, options: CommonSinkOptions, held?: HeldLayer): Promise<ImageSink> {
  const { DockerArchiveSink } = await loadWriter();
  return new DockerArchiveSink(out, options.progress, options.cache, { held });
}
