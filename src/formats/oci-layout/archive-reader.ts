import type { TarArchive } from '../../image/tar-archive.js';
import type { SourceImage } from '../../image/source.js';
import { type LayoutFiles, readOciLayout } from './layout-reader.js';

/** The images of an OCI archive (skopeo's oci-archive: an OCI layout in one tar). */
export function readOciArchive(archive: TarArchive, name: string, ref?: string): Promise<SourceImage[]> {
  const files: LayoutFiles = {
    read: async (path) => {
      const m = archive.member(path);
      return m && archive.read(m);
    },
    has: async (path) => archive.member(path) !== undefined,
    stream: (path) => archive.stream(archive.member(path)!),
  };
  return readOciLayout(files, name, ref);
}
