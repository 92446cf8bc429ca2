import type { Conf } from '../conf/conf.js';
import { validateImageConfig } from '../conf/runtime-config.js';
import { openBaseImage } from './base-image.js';
import type { SourceOptions } from '../formats/table.js';
import { customisationLayer } from '../layer/customisation.js';
import { LayerHasher } from '../layer/hasher.js';
import { Perms } from '../layer/perms.js';
import { storeLayer } from '../layer/store-layer.js';
import { type IsoTime, nowIsoTime, parseIsoTime, unixSeconds } from '../util/isotime.js';
import { imageConfigJson, overlayBaseConfig } from './image-config.js';
import type { Image, Layer } from '../model/image.js';

export interface ConfImageOptions {
  /** Overrides the conf's repo_tag (the script's --repo_tag). */
  repoTag?: string;
  /** The time "now" stands for (one instant for created and mtime). */
  now?: IsoTime;
  /** How a docker:// from_image is reached (credentials, TLS); default: the auth files. */
  base?: SourceOptions;
  /** Send the layers' keys with the image (default true); false for output that must be another tool's bytes. */
  layerKeys?: boolean;
}

/** The image a conf describes: base layers, store layers, customisation layer. */
export async function imageFromConf(conf: Conf, options: ConfImageOptions = {}): Promise<Image> {
  const now = options.now ?? nowIsoTime();
  const time = (field: 'created' | 'mtime'): IsoTime => (conf[field] === 'now' ? now : parseIsoTime(conf[field], `conf field '${field}'`));
  const created = time('created');
  const mtime = unixSeconds(time('mtime'));
  const attrs = { mtime, uid: conf.uid, gid: conf.gid, uname: conf.uname, gname: conf.gname };

  const { architecture, os = 'linux', author, variant } = conf;
  const platform = { architecture, os, ...(variant === undefined ? {} : { variant }) };
  const perms = conf.perms && (await Perms.resolve(conf.perms, conf.store_dir));
  const own: Layer[] = [
    ...conf.store_layers.map((paths, i) => {
      const layer = storeLayer(paths, conf.store_dir, attrs, perms, conf.nar_hashes);
      // Digests from the conf: the layer is read once, and checked as it is.
      const known = conf.store_layer_digests?.[i];
      return known ? { ...layer, known } : layer;
    }),
    ...(conf.customisation_layer === null ? [] : [await customisationLayer(conf.customisation_layer, attrs, perms)]),
  ];
  perms?.checkClaimed();
  // Confs built in code get the checks parseConf and confFromPlan make.
  const ownConfig = validateImageConfig(conf.config);
  // Opened last: a compressed base holds a scratch file until the image is closed.
  const base = conf.from_image === null ? undefined : await openBaseImage(conf.from_image, platform, options.base);
  const layers = [...(base?.image.layers ?? []), ...own];
  const baseConfig = base?.image.config.json.get('config');
  const config = overlayBaseConfig(baseConfig instanceof Map ? baseConfig : undefined, ownConfig, conf.inherit);
  return {
    layers,
    mtime,
    // An empty override falls back to the conf's, as the script's `or` does.
    repoTags: [options.repoTag || conf.repo_tag],
    platform,
    layerKeys: options.layerKeys ?? true,
    ...(conf.annotations === undefined ? {} : { annotations: Object.fromEntries(conf.annotations) }),
    config: (diffIds) =>
      imageConfigJson({ created, architecture, os, author, variant, config, contents: layers.map((l) => l.contents), diffIds }),
    ...(base && { close: base.close }),
  };
}

/** The conf with each store layer's digest and size recorded, read with the layer hasher. */
export async function withLayerDigests(conf: Conf): Promise<Conf> {
  // Without the base image; the customisation layer stays so perms rules aimed at it still find it.
  const bare = { ...conf, from_image: null, store_layer_digests: undefined };
  const hasher = new LayerHasher();
  try {
    const layers = (await imageFromConf(bare)).layers.slice(0, conf.store_layers.length);
    const digests = await Promise.all(hasher.digests(layers));
    return { ...conf, store_layer_digests: digests.map(({ digest, size }) => ({ digest, size })) };
  } finally {
    hasher.close();
  }
}
