import { StrataError } from '../errors.js';
import type { Layer } from '../image/model.js';
import { TarType, encodeHeader, endOfArchive, tarHeader } from '../tar/header.js';
import { type EntryAttributes, FileFingerprints, entryBytes, entryHeader, walk } from '../tar/walk.js';

/**
 * A layer holding store paths, as nixpkgs' streaming script writes it: the
 * store directory and its parents first (mode 0755), then each path and
 * everything under it in pathlib order; every entry gets `attrs`.
 */
export function storeLayer(paths: string[], storeDir: string, attrs: EntryAttributes): Layer {
  const roots = paths.map((p) => {
    const normal = pathlibForm(p);
    if (!normal.startsWith(storeDir + '/') || normal.split('/').includes('..')) {
      throw new StrataError(`store path '${p}' is not inside the store directory ${storeDir}; fix the conf's store_layers or its store_dir`);
    }
    return normal;
  });
  const fingerprints = new FileFingerprints();
  return { contents: paths, open: () => storeLayerTar(roots, storeDir, attrs, fingerprints) };
}

/** A path as pathlib spells it: no repeated or trailing slashes, no "." parts (the names the script writes). */
function pathlibForm(path: string): string {
  const parts = path.split('/').filter((part) => part !== '' && part !== '.');
  return (path.startsWith('/') ? '/' : '') + parts.join('/');
}

export function storeDirParents(storeDir: string): string[] {
  const parts = storeDir.split('/').filter(Boolean);
  return parts.map((_, i) => '/' + parts.slice(0, i + 1).join('/'));
}

async function* storeLayerTar(paths: string[], storeDir: string, attrs: EntryAttributes, fingerprints: FileFingerprints): AsyncGenerator<Buffer> {
  fingerprints.begin();
  let offset = 0;
  for (const dir of storeDirParents(storeDir)) {
    const h = encodeHeader(tarHeader({ name: dir, type: TarType.Directory, mode: 0o755, ...attrs }));
    offset += h.length;
    yield h;
  }
  for (const root of paths) {
    for await (const entry of walk(root)) {
      fingerprints.check(entry);
      const header = await entryHeader(entry.path, entry, attrs);
      for await (const chunk of entryBytes(header, entry.path)) {
        offset += chunk.length;
        yield chunk;
      }
    }
  }
  yield endOfArchive(offset);
}
