import { readFile } from 'node:fs/promises';
import { StrataError } from '../errors.js';
import { type SourceOptions, openImageSource } from '../formats/table.js';
import { historyPaths } from '../image/history.js';
import type { ImageSource } from '../image/source.js';
import { startsWithBrace } from '../util/json-file.js';
import type { PermRule } from '../layer/perms.js';
import { readPlanFile } from '../plan/plan-file.js';
import { type ReusedLayer, reusedFromPlan } from '../plan/reuse.js';
import { type Conf, parseConf } from './conf.js';

/** What makes a store layer's tar bytes besides its paths (the fields of a conf that storeLayer packs with). */
export type LayerBytes = Pick<Conf, 'store_dir' | 'uid' | 'gid' | 'uname' | 'gname' | 'mtime'> & { perms?: PermRule[] };

/** The options key of a layer of `paths` written with `o`: the perms rules count only where they concern its paths. */
export function layerBytesKey(o: LayerBytes, paths: readonly string[]): string {
  const mine = new Set(paths);
  const perms = (o.perms ?? []).filter((r) => mine.has(r.path));
  return JSON.stringify({ storeDir: o.store_dir, uid: o.uid, gid: o.gid, uname: o.uname, gname: o.gname, mtime: o.mtime, perms });
}

/**
 * --reuse REF: the layers of a plan (`strata plan --format json`), a conf
 * (`strata conf`, nixpkgs' streamLayeredImage conf.json), or an image strata
 * reads (see openImageSource). A conf also gives the options its layers were
 * written with; a plan gives paths alone, and so does an image: its layers'
 * store paths from the history comments strata and nixpkgs write. `source`:
 * how a docker:// image is reached.
 */
export async function readReuse(ref: string, warn?: (m: string) => void, source?: SourceOptions): Promise<ReusedLayer[]> {
  if (!(await startsWithBrace(ref))) return imageLayers(ref, source);
  const text = await readFile(ref, 'utf8');
  let isConf = false;
  try {
    isConf = 'store_layers' in (JSON.parse(text) as object);
  } catch (e) {
    throw new StrataError(`--reuse ${ref}: not JSON (${(e as Error).message}); give a plan written by strata plan --format json, a conf.json or an image`);
  }
  if (!isConf) return reusedFromPlan(await readPlanFile(ref));
  const conf = parseConf(text, ref, { warn });
  return conf.store_layers.map((paths) => ({ paths, options: layerBytesKey(conf, paths) }));
}

/**
 * The store layers of an image (every platform it holds; a layer naming
 * other paths is simply not kept). Layers naming no store paths (a base
 * image's, the customisation layer's contents aside) are left out.
 */
async function imageLayers(ref: string, options?: SourceOptions): Promise<ReusedLayer[]> {
  let source: ImageSource;
  try {
    source = await openImageSource(ref, options);
  } catch (e) {
    if (!(e instanceof StrataError)) throw e;
    throw new StrataError(`--reuse ${ref}: ${e.message.startsWith(ref) ? e.message.slice(ref.length).replace(/^:\s*/, '') : e.message}; give a plan written by strata plan --format json, a conf.json or an image`, e.exitCode);
  }
  try {
    return source.images.flatMap((image) => historyPaths(image).filter((paths) => paths.length > 0).map((paths) => ({ paths })));
  } finally {
    await source.close();
  }
}
