import { readFile, access } from 'node:fs/promises';
import { StrataError } from '../../../errors.js';
import { normaliseNarHash } from '../../nar-hash.js';
import { narSize } from '../../nar-size.js';
import { narHashOf, parseRegistration, type RegistrationEntry } from '../../registration.js';
import { storeDirOf } from '../../store-path.js';
import { type Closure, type StoreKind, type StorePathInfo, sortPaths } from '../../types.js';

interface GraphFileOptions {
  /** The key of `.attrs.json` holding the graph, when it holds several. */
  key?: string;
  storeDir?: string;
  /** Told about paths whose size had to be guessed. */
  warn?: (message: string) => void;
}

/**
 * Read a reference graph file: the registration text `exportReferencesGraph`
 * (and Guix `#:references-graphs`) writes, a structured-attrs `.attrs.json`
 * (a key holding a list of `{path, narSize, references}`), or such a list.
 * Sizes missing from the file come from walking the files.
 */
export async function readGraphFile(file: string, options: GraphFileOptions = {}): Promise<Closure> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new StrataError(`${file}: cannot read graph file (${(e as NodeJS.ErrnoException).code})`);
  }
  const entries = /^\s*[[{]/.test(text) ? jsonEntries(text, file, options.key) : parseRegistration(text, file);
  return closureFromEntries(entries, file, options);
}

function jsonEntries(text: string, file: string, key?: string): RegistrationEntry[] {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new StrataError(`${file}: invalid JSON (${(e as Error).message})`);
  }
  let list: unknown = data;
  if (!Array.isArray(data)) {
    const obj = data as Record<string, unknown>;
    const graphs = Object.keys(obj).filter((k) => isGraphList(obj[k]));
    if (key !== undefined) {
      if (!isGraphList(obj[key])) {
        throw new StrataError(`${file}: key '${key}' does not hold a list of {path, references}; graph keys here: ${graphs.join(', ') || 'none'}`);
      }
      list = obj[key];
    } else if (graphs.length === 1) {
      list = obj[graphs[0]!];
    } else {
      throw new StrataError(
        graphs.length === 0
          ? `${file}: no key holds a list of {path, references}; expected exportReferencesGraph output`
          : `${file}: several keys hold a graph (${graphs.join(', ')}); choose one with --graph-key`,
      );
    }
  }
  return (list as unknown[]).map((item, n) => {
    const o = item as Record<string, unknown>;
    const where = `${file}: entry ${n}`;
    if (typeof o !== 'object' || o === null || typeof o.path !== 'string') throw new StrataError(`${where}: expected an object with a string 'path'`);
    const refs = o.references ?? [];
    if (!Array.isArray(refs) || refs.some((r) => typeof r !== 'string')) throw new StrataError(`${where}: 'references' must be a list of store paths`);
    if (o.narSize !== undefined && (typeof o.narSize !== 'number' || !Number.isSafeInteger(o.narSize) || o.narSize < 0)) {
      throw new StrataError(`${where}: 'narSize' must be a non-negative integer`);
    }
    if (o.narHash !== undefined && (typeof o.narHash !== 'string' || normaliseNarHash(o.narHash) === undefined)) {
      throw new StrataError(`${where}: 'narHash' must be a sha256 hash as Nix writes it (sha256:BASE32, hex or SRI)`);
    }
    return {
      path: o.path,
      references: refs as string[],
      ...(o.narSize === undefined ? {} : { narSize: o.narSize as number }),
      ...(o.narHash === undefined ? {} : { narHash: o.narHash as string }),
    };
  });
}

function isGraphList(v: unknown): boolean {
  return Array.isArray(v) && v.every((x) => typeof x === 'object' && x !== null && typeof (x as { path?: unknown }).path === 'string');
}

/**
 * Turn graph entries into a closure. Paths that are only referenced get an
 * entry of their own without references, so every path is placed in a layer.
 */
async function closureFromEntries(entries: RegistrationEntry[], file: string, options: GraphFileOptions): Promise<Closure> {
  const seen = new Map<string, RegistrationEntry>();
  for (const e of entries) {
    if (seen.has(e.path)) throw new StrataError(`${file}: '${e.path}' is listed twice`);
    seen.set(e.path, e);
  }
  for (const e of entries) for (const r of e.references) if (!seen.has(r)) seen.set(r, { path: r, references: [] });
  const missing: string[] = [];
  const paths: StorePathInfo[] = await Promise.all(
    [...seen.values()].map(async (e) => ({
      path: e.path,
      narSize: e.narSize ?? (await sizeOrZero(e.path, missing)),
      references: e.references,
      ...narHashOf(e),
    })),
  );
  if (missing.length > 0) {
    options.warn?.(`${file}: ${missing.length} path(s) have no narSize and are not on this machine (e.g. ${missing[0]}); their size counts as 0`);
  }
  const sorted = sortPaths(paths);
  const storeDir = options.storeDir ?? (sorted.length > 0 ? storeDirOf(sorted[0]!.path) : '/nix/store');
  return { storeDir, paths: sorted };
}

async function sizeOrZero(path: string, missing: string[]): Promise<number> {
  try {
    await access(path);
  } catch {
    missing.push(path);
    return 0;
  }
  return narSize(path);
}

/** A reference graph file a derivation received, read instead of asking a store. */
export const graphFileStore: StoreKind = {
  closure: (request) => readGraphFile(request.graph!, { key: request.graphKey, storeDir: request.storeDir, warn: request.warn }),
};
