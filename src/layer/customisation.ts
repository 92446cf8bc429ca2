import { createReadStream } from 'node:fs';
import { lstat, readFile, realpath, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { StrataError } from '../errors.js';
import type { Layer } from '../image/model.js';
import { ChunkedTar, type EntryAttributes, FileFingerprints, entryHeader, walk } from '../tar/walk.js';
import { groupName, userName } from '../util/passwd.js';

/**
 * The customisation layer of a conf: a directory holding a ready `layer.tar`
 * and its `checksum` (what nixpkgs builds), or any other directory tree,
 * which strata packs itself.
 */
export async function customisationLayer(dir: string, attrs: EntryAttributes): Promise<Layer> {
  let st;
  try {
    st = await stat(dir);
  } catch {
    throw new StrataError(`customisation_layer '${dir}' does not exist; give a directory with layer.tar and checksum, or a tree to pack`);
  }
  if (!st.isDirectory()) throw new StrataError(`customisation_layer '${dir}' is not a directory`);
  const ready = await Promise.all(['layer.tar', 'checksum'].map((f) => stat(join(dir, f)).then(() => true, () => false)));
  if (ready[0] && ready[1]) return readyLayer(dir);
  return treeLayer(dir, await realpath(dir), attrs);
}

async function readyLayer(dir: string): Promise<Layer> {
  const checksumFile = join(dir, 'checksum');
  const checksum = (await readFile(checksumFile, 'utf8')).trim();
  if (!/^[0-9a-f]{64}$/.test(checksum)) throw new StrataError(`${checksumFile}: expected the hex sha256 of layer.tar, found '${checksum.slice(0, 80)}'`);
  const tar = join(dir, 'layer.tar');
  // The archive member takes the file's own mode and owner, as Python's gettarinfo does.
  const st = await lstat(tar);
  return {
    contents: [dir],
    known: { digest: `sha256:${checksum}`, size: st.size },
    member: { mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, uname: userName(st.uid), gname: groupName(st.gid) },
    open: () => createReadStream(tar, { highWaterMark: 1 << 20 }),
  };
}

/** A plain tree packed like `tar --sort=name --hard-dereference`, relative names, `attrs` on every entry. */
function treeLayer(dir: string, root: string, attrs: EntryAttributes): Layer {
  const fingerprints = new FileFingerprints();
  return {
    contents: [dir],
    *open() {
      fingerprints.begin();
      const tar = new ChunkedTar();
      for (const entry of walk(root)) {
        if (entry.path === root) continue;
        fingerprints.check(entry);
        yield* tar.entry(entryHeader(entry.path.slice(root.length + 1), entry, attrs), entry.path);
      }
      yield* tar.end();
    },
  };
}
