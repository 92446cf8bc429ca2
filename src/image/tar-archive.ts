import { createReadStream, createWriteStream } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { mkdir, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { StrataError } from '../errors.js';
import { removeOnExit } from '../scratch.js';
import { type Compression, decompressor, sniffCompression } from './compression.js';
import type { Bytes } from '../model/image.js';
import { indexTar, readMember, type TarMember } from '../tar/reader.js';

/**
 * A tar file whose members are read in any order: plain, or gzip- or
 * zstd-compressed as a whole (`docker save | gzip`, nixpkgs'
 * buildLayeredImage .tar.gz). A compressed stream cannot be entered in the
 * middle, and layers are read in any order, some twice (hashed, then sent):
 * streaming would decompress the archive once per layer read, so it is
 * decompressed once into a scratch file under os.tmpdir(), removed on close
 * (or at exit, if the caller never closes).
 */
export class TarArchive {
  private constructor(
    /** The file as named, for messages. */
    readonly file: string,
    /** The uncompressed tar: the file itself, or the scratch copy. */
    private readonly tar: string,
    readonly compression: Compression,
    private readonly members: Map<string, TarMember>,
    private readonly scratch?: string,
  ) {}

  static async open(file: string): Promise<TarArchive> {
    const compression = sniffCompression(await readHead(file, 4));
    if (compression === 'none') return new TarArchive(file, file, compression, byName(await indexTar(file)));
    const scratch = join(tmpdir(), `strata-archive-${process.pid}-${randomBytes(4).toString('hex')}`);
    // Tracked before it exists, so no signal finds it untracked.
    track(scratch);
    try {
      await mkdir(scratch, { mode: 0o700 });
    } catch (e) {
      untrack(scratch);
      throw new StrataError(`${file}: cannot make a scratch directory in ${tmpdir()} to decompress it into (${(e as NodeJS.ErrnoException).code}); set TMPDIR`);
    }
    const tar = join(scratch, 'archive.tar');
    try {
      await pipeline(createReadStream(file), decompressor(compression), createWriteStream(tar));
    } catch (e) {
      await release(scratch);
      throw new StrataError(`${file}: cannot ${compression}-decompress it (${(e as Error).message}); the file is damaged or truncated`);
    }
    try {
      return new TarArchive(file, tar, compression, byName(await indexTar(tar)), scratch);
    } catch (e) {
      await release(scratch);
      // The reader names the scratch copy; name the file the user gave.
      throw e instanceof StrataError ? new StrataError(e.message.replaceAll(tar, `${file} (${compression}-decompressed)`), e.exitCode) : e;
    }
  }

  /** The member of that name (a leading "./" ignored), if there is one. */
  member(name: string): TarMember | undefined {
    return this.members.get(name.replace(/^\.\//, ''));
  }

  read(m: TarMember): Promise<Buffer> {
    return readMember(this.tar, m);
  }

  /** The first `n` bytes of a member (fewer if it is shorter). */
  async head(m: TarMember, n: number): Promise<Buffer> {
    const fh = await open(this.tar, 'r');
    try {
      const buf = Buffer.alloc(Math.min(n, m.size));
      await fh.read(buf, 0, buf.length, m.offset);
      return buf;
    } finally {
      await fh.close();
    }
  }

  stream(m: TarMember): Bytes {
    return m.size === 0 ? [] : createReadStream(this.tar, { start: m.offset, end: m.offset + m.size - 1, highWaterMark: 1 << 20 });
  }

  async close(): Promise<void> {
    if (this.scratch) await release(this.scratch);
  }
}

function byName(members: TarMember[]): Map<string, TarMember> {
  return new Map(members.map((m) => [m.name.replace(/^\.\//, ''), m]));
}

/** The first bytes of a file, zero-padded to `n` (enough to sniff a magic number). */
async function readHead(file: string, n: number): Promise<Buffer> {
  const buf = Buffer.alloc(n);
  try {
    const fh = await open(file, 'r');
    try {
      await fh.read(buf, 0, n, 0);
    } finally {
      await fh.close();
    }
  } catch (e) {
    throw new StrataError(`${file}: cannot read (${(e as NodeJS.ErrnoException).code}); expected an archive file`);
  }
  return buf;
}

/** Remove a scratch directory, and stop tracking it. */
async function release(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  untrack(dir);
}

function untrack(dir: string): void {
  scratchDirs.get(dir)?.();
  scratchDirs.delete(dir);
}

const scratchDirs = new Map<string, () => void>();

function track(dir: string): void {
  scratchDirs.set(dir, removeOnExit(dir));
}
