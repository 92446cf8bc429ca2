import { type WriteStream, createReadStream, createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { mkdir, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Header } from 'tar-stream';
import { StrataError } from '../errors.js';
import { removeOnExit } from '../scratch.js';
import { type Compression, decompressor, sniffCompression } from './compression.js';
import type { Bytes } from '../model/image.js';
import { type TarMember, applyPax, indexTar, readMember } from '../tar/reader.js';
import { TarType } from '../tar/header.js';
import { decodeName } from '../util/surrogateescape.js';
import { fileRange } from '../util/streams.js';
import { CHUNK, newChunk } from '../tar/chunked-tar.js';

/** Members up to this size (manifests, configs, index files) are kept in memory when an archive is read in sequence. */
const IN_MEMORY = 256 * 1024;

/**
 * A tar file whose members are read in any order: plain, or gzip- or
 * zstd-compressed as a whole (`docker save | gzip`, nixpkgs'
 * buildLayeredImage .tar.gz), or arriving on standard input (`-`). A plain
 * file is indexed in place (strata's reader). A compressed stream cannot be
 * entered in the middle and a pipe not at all, while layers are read in any
 * order, some twice (hashed, then sent): such an archive is read once, in
 * sequence, by tar-stream, small members kept in memory and the others
 * spooled to a scratch file under os.tmpdir(), removed on close (or at exit
 * and on signals, if the caller never closes).
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
    /** Members read in sequence and kept in memory (the others lie in `tar`). */
    private readonly memory = new Map<TarMember, Buffer>(),
  ) {}

  static async open(file: string): Promise<TarArchive> {
    if (file === '-') return TarArchive.spool('standard input', process.stdin);
    const compression = sniffCompression(await readHead(file, 4));
    if (compression === 'none') return new TarArchive(file, file, compression, byName(await indexTar(file)));
    return TarArchive.spool(file, createReadStream(file));
  }

  /** Read an archive (plain or compressed) once, in sequence, keeping what is read again. */
  private static async spool(file: string, input: Readable): Promise<TarArchive> {
    const scratch = join(tmpdir(), `strata-archive-${process.pid}-${randomBytes(4).toString('hex')}`);
    // Tracked before it exists, so no signal finds it untracked.
    track(scratch);
    try {
      await mkdir(scratch, { mode: 0o700 });
    } catch (e) {
      untrack(scratch);
      throw new StrataError(`${file}: cannot make a scratch directory in ${tmpdir()} to read it into (${(e as NodeJS.ErrnoException).code}); set TMPDIR`);
    }
    const spooled = join(scratch, 'members');
    let out: WriteStream | undefined;
    let compression: Compression = 'none';
    let inflateError: (() => Error | undefined) | undefined;
    try {
      out = createWriteStream(spooled, { mode: 0o600, highWaterMark: 1 << 20 });
      // A write failing (a full disk) rejects the wait for 'drain' or 'finish'; writes pending when it is dropped fail quietly.
      out.on('error', () => {});
      const { stream, compression: found, decompressing } = await decompressed(input);
      compression = found;
      inflateError = decompressing;
      const members = new Map<string, TarMember>();
      const memory = new Map<TarMember, Buffer>();
      // Imported here: tar-stream and its streams are a tenth of the modules every run would load.
      const { extract } = await import('tar-stream');
      const tar = extract({ filenameEncoding: 'latin1' } as object);
      let offset = 0;
      // The pipeline's error (a damaged stream) says more than the iterator's.
      let failed: Error | undefined;
      const reading = pipeline(stream, tar).catch((e: Error) => void (failed ??= e));
      const entries = async function* () {
        try {
          yield* tar;
        } catch (e) {
          await reading;
          throw failed ?? e;
        }
      };
      for await (const entry of entries()) {
        const m = member(entry.header, offset);
        if (m.size <= IN_MEMORY) {
          const chunks: Buffer[] = [];
          for await (const chunk of entry) chunks.push(chunk as Buffer);
          memory.set(m, Buffer.concat(chunks));
        } else {
          for await (const chunk of entry) {
            if (!out.write(chunk)) await once(out, 'drain');
            offset += (chunk as Buffer).length;
          }
        }
        members.set(m.name.replace(/^\.\//, ''), m);
      }
      await reading;
      if (failed) throw failed;
      await new Promise<void>((resolve, reject) => out!.end((e?: Error | null) => (e ? reject(e) : resolve())));
      out = undefined;
      if (members.size === 0) throw new Error('no tar members');
      return new TarArchive(file, spooled, compression, members, scratch, memory);
    } catch (e) {
      out?.destroy();
      await release(scratch);
      if (e instanceof StrataError) throw e;
      const inflating = inflateError?.();
      if (inflating) throw new StrataError(`${file}: cannot ${compression}-decompress it (${inflating.message}); the file is damaged or truncated`);
      throw new StrataError(`${file}: not a whole tar archive (${(e as Error).message}); expected a docker-archive or an OCI archive, plain or gzip/zstd-compressed`);
    }
  }

  /** The member of that name (a leading "./" ignored), if there is one. */
  member(name: string): TarMember | undefined {
    return this.members.get(name.replace(/^\.\//, ''));
  }

  read(m: TarMember): Promise<Buffer> {
    const kept = this.memory.get(m);
    return kept ? Promise.resolve(kept) : readMember(this.tar, m);
  }

  /** The first `n` bytes of a member (fewer if it is shorter). */
  async head(m: TarMember, n: number): Promise<Buffer> {
    const kept = this.memory.get(m);
    if (kept) return kept.subarray(0, n);
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
    const kept = this.memory.get(m);
    if (kept) return kept.length === 0 ? [] : [kept];
    return m.size === 0 ? [] : fileRange(this.tar, m.offset, m.size, newChunk, CHUNK);
  }

  async close(): Promise<void> {
    if (this.scratch) await release(this.scratch);
  }
}

function byName(members: TarMember[]): Map<string, TarMember> {
  return new Map(members.map((m) => [m.name.replace(/^\.\//, ''), m]));
}

/** The archive's tar bytes, decompressed if its first bytes say it is compressed. */
async function decompressed(input: Readable): Promise<{ stream: Readable; compression: Compression; decompressing?: () => Error | undefined }> {
  const chunks = input[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  let head = Buffer.alloc(0);
  while (head.length < 4) {
    const next = await chunks.next();
    if (next.done) break;
    head = Buffer.concat([head, next.value]);
  }
  const compression = sniffCompression(Buffer.concat([head, Buffer.alloc(4)]));
  const raw = Readable.from(
    (async function* () {
      if (head.length > 0) yield head;
      for (let next = await chunks.next(); !next.done; next = await chunks.next()) yield next.value;
    })(),
    { objectMode: false },
  );
  if (compression === 'none') return { stream: raw, compression };
  const inflate = decompressor(compression);
  inflate.once('error', (e) => void (inflateError = e));
  pipeline(raw, inflate).catch((e: Error) => inflate.destroy(e));
  let inflateError: Error | undefined;
  return { stream: inflate, compression, decompressing: () => inflateError };
}

/** A member as strata's reader gives it, from tar-stream's header: names in Python's form, pax records applied as tarfile applies them. */
function member(h: Header, offset: number): TarMember {
  const pax = new Map(Object.entries((h.pax ?? {}) as Record<string, string>));
  const m: TarMember = {
    name: decodeName(Buffer.from(h.name, 'latin1')),
    type: TYPES[h.type] ?? TarType.File,
    mode: h.mode,
    uid: h.uid,
    gid: h.gid,
    size: h.size,
    mtime: h.mtime.getTime() / 1000,
    linkname: decodeName(Buffer.from(h.linkname ?? '', 'latin1')),
    uname: h.uname,
    gname: h.gname,
    devmajor: h.devmajor,
    devminor: h.devminor,
    offset,
    pax,
  };
  applyPax(m, pax);
  return m;
}

const TYPES: Partial<Record<Header['type'], TarType>> = {
  file: TarType.File,
  'contiguous-file': TarType.File,
  link: TarType.HardLink,
  symlink: TarType.Symlink,
  'character-device': TarType.CharDevice,
  'block-device': TarType.BlockDevice,
  directory: TarType.Directory,
  fifo: TarType.Fifo,
};

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
