import { realpath } from 'node:fs/promises';
import { StrataError } from '../../../errors.js';
import { narHashOf, parseRegistration } from '../../registration.js';
import { storeDirOf } from '../../store-path.js';
import { type Closure, type StoreKind, sortPaths } from '../../types.js';
import { runStoreTool } from '../../store-tool.js';

/**
 * Ask the Nix store for the closure of `roots` with sizes and references: the
 * requisites, then one `--dump-db` over them (the whole graph in one query).
 */
export async function queryNixClosure(roots: string[], storeDir?: string): Promise<Closure> {
  if (roots.length === 0) throw new StrataError('no roots given: name at least one store path, or use --graph FILE');
  await checkRoots(roots, storeDir ?? process.env.NIX_STORE_DIR ?? '/nix/store');
  const requisites = (await runNixStore(['--query', '--requisites', ...roots])).split('\n').filter(Boolean);
  const entries = parseRegistration(await runNixStore(['--dump-db', ...requisites]), 'nix-store --dump-db');
  const paths = sortPaths(entries.map((e) => ({ path: e.path, narSize: e.narSize ?? 0, references: e.references, ...narHashOf(e) })));
  return { storeDir: storeDir ?? storeDirOf(paths[0]!.path), paths };
}

/** A root that is no store path is the caller's mistake (exit 2), not the store failing. */
async function checkRoots(roots: string[], storeDir: string): Promise<void> {
  for (const root of roots) {
    const path = await realpath(root).catch((e: NodeJS.ErrnoException) => {
      throw new StrataError(`${root}: cannot resolve (${e.code}); name a store path or a link to one (./result)`);
    });
    if (!path.startsWith(storeDir + '/')) throw new StrataError(`${root}: ${path} is not in the store ${storeDir}; name a store path or a link to one (./result)`);
  }
}

function runNixStore(args: string[]): Promise<string> {
  return runStoreTool('nix-store', args, args[0]!, 'install Nix (e.g. apt-get install nix-bin) or pass --graph FILE');
}

/** The Nix store, asked through nix-store. */
export const nixStore: StoreKind = { closure: (request) => queryNixClosure(request.roots, request.storeDir) };
