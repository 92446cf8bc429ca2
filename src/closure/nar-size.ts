import { lstat, readdir, readlink } from 'node:fs/promises';
import { StrataError } from '../errors.js';

// A NAR string is its 8-byte length, then its bytes padded to 8.
const str = (len: number): number => 8 + Math.ceil(len / 8) * 8;
const word = (s: string): number => str(Buffer.byteLength(s));

const REGULAR = word('(') + word('type') + word('regular') + word('contents') + word(')');
const EXECUTABLE = word('executable') + word('');
const SYMLINK = word('(') + word('type') + word('symlink') + word('target') + word(')');
const DIRECTORY = word('(') + word('type') + word('directory') + word(')');
const ENTRY = word('entry') + word('(') + word('name') + word('node') + word(')');

/**
 * The size of the NAR serialisation of `path`, which is what Nix records as
 * narSize. Used when a graph file carries no sizes (Guix, plain
 * exportReferencesGraph), so plans weigh paths the same way either way.
 */
export async function narSize(path: string): Promise<number> {
  return word('nix-archive-1') + (await nodeSize(Buffer.from(path)));
}

async function nodeSize(path: Buffer): Promise<number> {
  let st;
  try {
    st = await lstat(path);
  } catch (e) {
    throw new StrataError(`${path.toString()}: cannot read (${(e as NodeJS.ErrnoException).code}); is it in this machine's store?`);
  }
  if (st.isSymbolicLink()) return SYMLINK + str((await readlink(path, { encoding: 'buffer' })).length);
  if (st.isFile()) return REGULAR + (st.mode & 0o100 ? EXECUTABLE : 0) + str(st.size);
  if (st.isDirectory()) {
    let total = DIRECTORY;
    for (const name of await readdir(path, { encoding: 'buffer' })) {
      total += ENTRY + str(name.length) + (await nodeSize(Buffer.concat([path, Buffer.from('/'), name])));
    }
    return total;
  }
  throw new StrataError(`${path.toString()}: not a file, directory or symlink; a store path cannot hold it`);
}
