import { realpath } from 'node:fs/promises';
import { ExitCode, StrataError } from '../../../errors.js';
import { narSize } from '../../nar-size.js';
import { storeDirOf } from '../../store-path.js';
import { type Closure, type StoreKind, sortPaths } from '../../types.js';
import { runStoreTool } from '../../store-tool.js';

/**
 * Ask a Guix store for the closure of `roots`: `guix gc -R` for the
 * requisites, then `guix gc --references` once per path (the union of
 * several paths' references would lose who refers to what). Guix prints
 * no sizes, so each path's NAR size comes from walking its files.
 */
async function queryGuixClosure(roots: string[], storeDir?: string): Promise<Closure> {
  if (roots.length === 0) throw new StrataError('no roots given: name at least one store path, or use --graph FILE');
  // Links such as ./result name their target, as they do for nix-store.
  const resolved = await Promise.all(roots.map((r) => realpath(r).catch(() => r)));
  const requisites = lines(await guix(['gc', '--requisites', ...resolved]));
  const paths = [];
  for (const path of requisites) {
    const references = lines(await guix(['gc', '--references', path]));
    paths.push({ path, narSize: await narSize(path), references });
  }
  const sorted = sortPaths(paths);
  if (sorted.length === 0) throw new StrataError(`guix gc --requisites printed no store paths for ${roots.join(' ')}`, ExitCode.Store);
  return { storeDir: storeDir ?? storeDirOf(sorted[0]!.path), paths: sorted };
}

function lines(text: string): string[] {
  return [...new Set(text.split('\n').filter((l) => l !== ''))].sort();
}

function guix(args: string[]): Promise<string> {
  return runStoreTool('guix', args, args.slice(0, 2).join(' '), 'install Guix, or pass --graph FILE (a #:references-graphs file)');
}

/** A Guix store, asked through guix gc. */
export const guixStore: StoreKind = { closure: (request) => queryGuixClosure(request.roots, request.storeDir) };
