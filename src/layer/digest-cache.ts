import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * Layer digests kept across runs. Store paths never change, so a layer's
 * digest follows from its paths and the options that shape its bytes; the
 * key also holds each root's inode and ctime, so a path rebuilt in place (or
 * a plain directory used as a store) misses instead of lying. Entries are
 * written whole under a temporary name; an unreadable entry is a miss.
 */
export class DigestCache {
  constructor(readonly dir: string = defaultCacheDir()) {}

  /** A cache of other facts beside this one (its own directory), so each holds one kind of entry. */
  beside(name: string): DigestCache {
    return new DigestCache(join(this.dir, '..', name));
  }

  async get(key: string): Promise<{ digest: string; size: number } | undefined> {
    const entry = (await this.read(key)) as { digest?: unknown; size?: unknown } | undefined;
    if (typeof entry?.digest === 'string' && /^sha256:[0-9a-f]{64}$/.test(entry.digest) && Number.isSafeInteger(entry.size)) {
      return { digest: entry.digest, size: entry.size as number };
    }
    return undefined;
  }

  async put(key: string, value: { digest: string; size: number }): Promise<void> {
    await this.write(key, value);
  }

  /** Forget the entry under `key` (one found wrong). */
  async drop(key: string): Promise<void> {
    await rm(this.file(key), { force: true }).catch(() => {});
  }

  /** Any JSON kept under `key` (what else follows from store paths alone); undefined when missing or corrupt. */
  async read(key: string): Promise<unknown> {
    try {
      return JSON.parse(await readFile(this.file(key), 'utf8')) as unknown;
    } catch {
      // Missing or corrupt: computed again and rewritten.
      return undefined;
    }
  }

  /** The directory, made once per cache (a push writes an entry or two per layer); made again after a failure. */
  private made: Promise<unknown> | undefined;

  async write(key: string, value: unknown): Promise<void> {
    try {
      await (this.made ??= mkdir(this.dir, { recursive: true }).catch((e: unknown) => {
        this.made = undefined;
        throw e;
      }));
      const temp = `${this.file(key)}.${process.pid}.${Math.random().toString(36).slice(2)}`;
      await writeFile(temp, JSON.stringify(value));
      await rename(temp, this.file(key));
    } catch {
      // A cache that cannot be written only costs time.
    }
  }

  private file(key: string): string {
    return join(this.dir, `${createHash('sha256').update(key).digest('hex')}.json`);
  }
}

function defaultCacheDir(): string {
  return join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'strata', 'layer-digests');
}
