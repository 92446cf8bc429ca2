import { StrataError } from '../errors.js';
import { parseRegistration } from './registration.js';
import { type Closure, sortPaths, storeDirOf } from './types.js';
import { runStoreTool } from './store-tool.js';

/**
 * Ask the Nix store for the closure of `roots` with sizes and references: the
 * requisites, then one `--dump-db` over them (the whole graph in one query).
 */
export async function queryNixClosure(roots: string[], storeDir?: string): Promise<Closure> {
  if (roots.length === 0) throw new StrataError('no roots given: name at least one store path, or use --graph FILE');
  const requisites = (await nixStore(['--query', '--requisites', ...roots])).split('\n').filter(Boolean);
  const entries = parseRegistration(await nixStore(['--dump-db', ...requisites]), 'nix-store --dump-db');
  const paths = sortPaths(entries.map((e) => ({ path: e.path, narSize: e.narSize ?? 0, references: e.references })));
  return { storeDir: storeDir ?? storeDirOf(paths[0]!.path), paths };
}

function nixStore(args: string[]): Promise<string> {
  return runStoreTool('nix-store', args, args[0]!, 'install Nix (e.g. apt-get install nix-bin) or pass --graph FILE');
}
