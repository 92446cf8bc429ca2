import { createReadStream } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { pack } from 'tar-stream';
import { fileError } from '../../errors.js';
import type { ByteSink } from '../../output.js';
import { removeOnExit } from '../../scratch.js';
import type { Image, ImageSink } from '../../model/image.js';
import { type OciOptions, OciLayoutSink } from './layout-writer.js';

/**
 * An OCI layout in one tar file (skopeo's oci-archive). Compressed blob sizes
 * are known only once compressed, so the layout is made in a scratch
 * directory beside the target, then archived, then removed.
 */
export class OciArchiveSink implements ImageSink {
  constructor(
    private readonly out: ByteSink,
    private readonly near: string,
    private readonly options: OciOptions = {},
  ) {}

  write(image: Image): Promise<void> {
    return this.viaLayout((layout) => layout.write(image), image.mtime);
  }

  writeIndex(images: Image[]): Promise<void> {
    return this.viaLayout((layout) => layout.writeIndex(images), images[0]?.mtime ?? 0);
  }

  private async viaLayout(fill: (layout: OciLayoutSink) => Promise<void>, mtime: number): Promise<void> {
    const scratch = join(dirname(this.near), `.${basename(this.near)}.layout-${process.pid}-${randomBytes(4).toString('hex')}`);
    // Registered before it exists, so no signal finds it unregistered.
    const forget = removeOnExit(scratch);
    try {
      await mkdir(scratch);
    } catch (e) {
      forget();
      throw fileError(this.near, e);
    }
    try {
      await fill(new OciLayoutSink(scratch, this.options, this.near));
      await archiveDirectory(scratch, this.out, mtime);
    } finally {
      await rm(scratch, { recursive: true, force: true });
      forget();
    }
  }
}

/**
 * A directory as a deterministic tar, written in sequence by tar-stream:
 * sorted names, root-owned, one mtime.
 */
async function archiveDirectory(root: string, out: ByteSink, mtime: number): Promise<void> {
  const tar = pack();
  const when = new Date(mtime * 1000);
  const visit = async (rel: string): Promise<void> => {
    for (const name of (await readdir(join(root, rel))).sort()) {
      const path = rel === '' ? name : `${rel}/${name}`;
      const st = await stat(join(root, path));
      if (st.isDirectory()) {
        tar.entry({ name: path, type: 'directory', mode: 0o755, mtime: when, uid: 0, gid: 0 });
        await visit(path);
      } else {
        await pipeline(createReadStream(join(root, path), { highWaterMark: 1 << 20 }), tar.entry({ name: path, size: st.size, mode: 0o644, mtime: when, uid: 0, gid: 0 }));
      }
    }
  };
  const filled = visit('').then(
    () => tar.finalize(),
    (e: Error) => tar.destroy(e),
  );
  for await (const chunk of tar) await out.write(chunk as Buffer);
  await filled;
}
