import { readFile } from 'node:fs/promises';
import { StrataError } from '../errors.js';
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
 * --reuse REF: the layers of a plan (`strata plan --format json`) or a conf
 * (`strata conf`, nixpkgs' streamLayeredImage conf.json). A conf also gives
 * the options its layers were written with; a plan gives paths alone.
 */
export async function readReuse(file: string, warn?: (m: string) => void): Promise<ReusedLayer[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new StrataError(`--reuse ${file}: cannot read (${(e as NodeJS.ErrnoException).code}); give a plan written by strata plan --format json, or a conf.json`);
  }
  let isConf = false;
  try {
    isConf = 'store_layers' in (JSON.parse(text) as object);
  } catch (e) {
    throw new StrataError(`--reuse ${file}: not JSON (${(e as Error).message}); give a plan written by strata plan --format json, or a conf.json`);
  }
  if (!isConf) return reusedFromPlan(await readPlanFile(file));
  const conf = parseConf(text, file, { warn });
  return conf.store_layers.map((paths) => ({ paths, options: layerBytesKey(conf, paths) }));
}
