import { createReadStream } from 'node:fs';
import { lstat, readFile, realpath, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { StrataError } from '../errors.js';
import { type Member, packMembers, tarSize, walkedTar } from '../tar/members.js';
import { type EntryAttributes, FileFingerprints, entryHeader, walk } from '../tar/tree-walk.js';
import { groupName, userName } from '../util/passwd.js';
import { layerKeyOf } from './key.js';
import type { LayerPerms, Perms } from './perms.js';
import type { SizedLayer } from './store-layer.js';
import { sha256Hex } from '../model/digest.js';

/**
 * The customisation layer of a conf: a directory holding a ready `layer.tar`
 * and its `checksum` (what nixpkgs builds), or any other directory tree,
 * which strata packs itself (applying the `perms` rules for it).
 */
export async function customisationLayer(dir: string, attrs: EntryAttributes, perms?: Perms): Promise<SizedLayer> {
  let st;
  try {
    st = await stat(dir);
  } catch {
    throw new StrataError(`customisation_layer '${dir}' does not exist; give a directory with layer.tar and checksum, or a tree to pack`);
  }
  if (!st.isDirectory()) throw new StrataError(`customisation_layer '${dir}' is not a directory`);
  const ready = await Promise.all(['layer.tar', 'checksum'].map((f) => stat(join(dir, f)).then(() => true, () => false)));
  const root = await realpath(dir);
  const rules = perms?.forLayer([root]);
  if (ready[0] && ready[1]) {
    if (rules) {
      throw new StrataError(`perms[${rules.first.index}].path '${rules.first.path}': ${dir} is a ready layer.tar, which strata cannot change; set modes and owners where it is built, or give a directory tree to pack`);
    }
    return readyLayer(dir);
  }
  if (ready[0] !== ready[1]) {
    const [has, lacks] = ready[0] ? ['layer.tar', 'checksum'] : ['checksum', 'layer.tar'];
    throw new StrataError(
      `customisation_layer '${dir}' holds a ${has} but no ${lacks}: as a ready layer it needs both (checksum: the hex sha256 of layer.tar), ` +
        `as a tree to pack it would put a file /${has} in the image; add the ${lacks}, or move the ${has} out of the tree`,
    );
  }
  return treeLayer(dir, root, attrs, rules);
}

async function readyLayer(dir: string): Promise<SizedLayer> {
  const checksumFile = join(dir, 'checksum');
  const checksum = (await readFile(checksumFile, 'utf8')).trim();
  if (!/^[0-9a-f]{64}$/.test(checksum)) throw new StrataError(`${checksumFile}: expected the hex sha256 of layer.tar, found '${checksum.slice(0, 80)}'`);
  const tar = join(dir, 'layer.tar');
  // The archive member takes the file's own mode and owner, as Python's gettarinfo does.
  const st = await lstat(tar);
  return {
    contents: [dir],
    known: { digest: `sha256:${checksum}`, size: st.size },
    // Its bytes are layer.tar's, named by the checksum.
    key: layerKeyOf({ kind: 'ready', diffId: `sha256:${checksum}`, size: st.size }),
    member: { mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, uname: userName(st.uid), gname: groupName(st.gid) },
    open: () => createReadStream(tar, { highWaterMark: 1 << 20 }),
    tarSize: () => st.size,
    walk: () => ({ size: st.size, files: 1, open: () => createReadStream(tar, { highWaterMark: 1 << 20 }) }),
    inputKey: () => checksum,
  };
}

/**
 * A plain tree packed like `tar --sort=name --hard-dereference`, relative
 * names, `attrs` (then `rules`) on every entry. It has no key: only reading
 * its files tells what they hold.
 */
function treeLayer(dir: string, root: string, attrs: EntryAttributes, rules?: LayerPerms): SizedLayer {
  const fingerprints = new FileFingerprints();
  return {
    contents: [dir],
    fingerprints,
    open: () => packMembers(treeMembers(root, attrs, rules), fingerprints),
    tarSize: () => tarSize(treeMembers(root, attrs, rules), fingerprints),
    walk: () => walkedTar(treeMembers(root, attrs, rules)),
    inputKey: () => sha256Hex(JSON.stringify({ layer: 'tree/1', root, attrs, perms: rules?.key })),
  };
}

function* treeMembers(root: string, attrs: EntryAttributes, rules?: LayerPerms): Generator<Member> {
  for (const entry of walk(root)) {
    if (entry.path === root) continue;
    const name = entry.path.slice(root.length + 1);
    const header = entryHeader(name, entry, attrs);
    yield { header: rules ? rules.apply(header, entry.path, `/${name}`) : header, entry };
  }
}
