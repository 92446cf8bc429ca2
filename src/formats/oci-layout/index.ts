import { StrataError } from '../../errors.js';
import { type Format, pathAndRef } from '../../image/format.js';
import { openOutput, writeOutput } from '../../output.js';

// An OCI image layout has two transports: a directory (oci) and the same
// files in one tar (oci-archive); both live here, as one format. Readers
// and writers are loaded when used, as the table loads every format.

const noCommit = async (): Promise<void> => {};

export const ociLayout: Format = {
  name: 'oci',
  reader: {
    kind: 'directory',
    async open(dir, ref, name) {
      const { layoutDirectory, layoutReferrer, readOciLayout } = await import('./layout-reader.js');
      const files = layoutDirectory(dir);
      const images = await readOciLayout(files, name, ref);
      return { name, format: 'oci', images, referrer: (subject, type) => layoutReferrer(files, name, subject, type), close: async () => {} };
    },
  },
  async openSink(reference, options) {
    const [dir, ref] = pathAndRef(reference);
    if (dir === '') throw new StrataError('--to oci:DIR[:REF] needs a directory');
    const { OciLayoutSink } = await import('./layout-writer.js');
    return { sink: new OciLayoutSink(dir, { ...options, ref }), commit: noCommit, abort: noCommit };
  },
  // An OCI 1.1 referrer of the image's manifest, in the same layout.
  async attach(reference, doc) {
    const [dir, ref] = pathAndRef(reference);
    const { addReferrer } = await import('./layout-writer.js');
    return `oci:${reference} (referrer ${await addReferrer(dir, ref, doc)})`;
  },
};

export const ociArchive: Format = {
  name: 'oci-archive',
  reader: { kind: 'archive', marker: 'oci-layout', markerText: 'an oci-layout (OCI archive)', read: async (archive, name, ref) => (await import('./archive-reader.js')).readOciArchive(archive, name, ref) },
  async openSink(reference, options) {
    const [path, ref] = pathAndRef(reference);
    if (path === '' || path === '-') throw new StrataError('--to oci-archive:FILE[:REF] needs a file name');
    const { OciArchiveSink } = await import('./archive-writer.js');
    const output = openOutput(path);
    return { sink: new OciArchiveSink(output.sink, path, { ...options, ref }), commit: output.commit, abort: output.abort };
  },
  // Beside the file: app.oci.tar.cdx.json.
  async attach(reference, doc) {
    const [path] = pathAndRef(reference);
    await writeOutput(doc.document().toString('utf8'), `${path}${doc.suffix}`);
    return `${path}${doc.suffix}`;
  },
};
