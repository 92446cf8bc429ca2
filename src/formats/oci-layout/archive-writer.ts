import { createReadStream } from 'node:fs';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { fileError } from '../../errors.js';
import type { ByteSink } from '../../output.js';
import { removeOnExit } from '../../scratch.js';
import { TarType, encodeHeader, endOfArchive, padding, tarHeader } from '../../tar/header.js';
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
    let scratch: string;
    try {
      scratch = await mkdtemp(join(dirname(this.near), `.${basename(this.near)}.layout-`));
    } catch (e) {
      throw fileError(this.near, e);
    }
    const forget = removeOnExit(scratch);
    try {
      await fill(new OciLayoutSink(scratch, this.options, this.near));
      await archiveDirectory(scratch, this.out, mtime);
    } finally {
      await rm(scratch, { recursive: true, force: true });
      forget();
    }
  }
}

/** A directory as a deterministic tar: sorted names, root-owned, one mtime. */
async function archiveDirectory(root: string, out: ByteSink, mtime: number): Promise<void> {
  let offset = 0;
  const put = async (b: Buffer): Promise<void> => {
    offset += b.length;
    await out.write(b);
  };
  const visit = async (rel: string): Promise<void> => {
    for (const name of (await readdir(join(root, rel))).sort()) {
      const path = rel === '' ? name : `${rel}/${name}`;
      const st = await stat(join(root, path));
      if (st.isDirectory()) {
        await put(encodeHeader(tarHeader({ name: path, type: TarType.Directory, mode: 0o755, mtime })));
        await visit(path);
      } else {
        await put(encodeHeader(tarHeader({ name: path, size: st.size, mtime })));
        for await (const chunk of createReadStream(join(root, path), { highWaterMark: 1 << 20 })) await put(chunk as Buffer);
        await put(padding(st.size));
      }
    }
  };
  await visit('');
  await put(endOfArchive(offset));
}
