import type { Conf } from '../conf/conf.js';
import { readDockerArchive } from '../layer/base-image.js';
import { customisationLayer } from '../layer/customisation.js';
import { storeLayer } from '../layer/store-layer.js';
import { type IsoTime, nowIsoTime, parseIsoTime, unixSeconds } from '../util/isotime.js';
import { imageConfigJson, overlayBaseConfig } from './config.js';
import type { Image, Layer } from './model.js';

export interface ConfImageOptions {
  /** Overrides the conf's repo_tag (the script's --repo_tag). */
  repoTag?: string;
  /** The time "now" stands for (one instant for created and mtime). */
  now?: IsoTime;
}

/** The image a conf describes: base layers, store layers, customisation layer. */
export async function imageFromConf(conf: Conf, options: ConfImageOptions = {}): Promise<Image> {
  const now = options.now ?? nowIsoTime();
  const time = (field: 'created' | 'mtime'): IsoTime => (conf[field] === 'now' ? now : parseIsoTime(conf[field], `conf field '${field}'`));
  const created = time('created');
  const mtime = unixSeconds(time('mtime'));
  const attrs = { mtime, uid: conf.uid, gid: conf.gid, uname: conf.uname, gname: conf.gname };

  const base = conf.from_image === null ? undefined : await readDockerArchive(conf.from_image);
  const layers: Layer[] = [
    ...(base?.layers ?? []),
    ...conf.store_layers.map((paths) => storeLayer(paths, conf.store_dir, attrs)),
    ...(conf.customisation_layer === null ? [] : [await customisationLayer(conf.customisation_layer, attrs)]),
  ];
  const baseConfig = base?.imageJson.get('config');
  const config = overlayBaseConfig(baseConfig instanceof Map ? baseConfig : undefined, conf.config);
  return {
    layers,
    mtime,
    // An empty override falls back to the conf's, as the script's `or` does.
    repoTags: [options.repoTag || conf.repo_tag],
    platform: { architecture: conf.architecture, os: 'linux' },
    config: (diffIds) =>
      imageConfigJson({ created, architecture: conf.architecture, config, contents: layers.map((l) => l.contents), diffIds }),
  };
}
