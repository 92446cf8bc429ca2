import type { Descriptor } from '../model/image.js';
import { type Compression, compressionLevel } from './compression.js';

/** OCI manifest layer annotations that carry a layer's key, diff_id and compression. */
const KEY = 'dev.strata.layer.key';
const DIFF_ID = 'dev.strata.layer.diff-id';
const COMPRESSION = 'dev.strata.layer.compression';
/** The image config field that carries them where the manifest has no annotations (Docker schema 2): one entry (or null) per layer. */
const CONFIG_FIELD = 'dev.strata.layers';

/** What an image says of one of its layers: how it was made, and the blob that holds it. */
export interface KeyedLayer {
  key: string;
  diffId: string;
  /** `gzip/1/4`, `zstd/3`, `none`: the compressor and level that made the blob. */
  compression: string;
  digest: string;
  size: number;
}

/**
 * How a blob was compressed, as keyed layers and the digest cache record it:
 * the compressor, its level and, for gzip, the version of the block format
 * (2 and 3: zlib, blocks joined into one member; 4: each block its own
 * member, deflated by libdeflate 1.25), so blobs made otherwise are never
 * taken for these.
 */
export function compressionId(c: Compression, level: number | undefined): string {
  if (c === 'none') return c;
  return c === 'gzip' ? `gzip/${compressionLevel(c, level)}/4` : `${c}/${compressionLevel(c, level)}`;
}

export function keyAnnotations(l: Pick<KeyedLayer, 'key' | 'diffId' | 'compression'>): Record<string, string> {
  return { [KEY]: l.key, [DIFF_ID]: l.diffId, [COMPRESSION]: l.compression };
}

/**
 * The config with the layers' keys added as one more top-level field
 * (image config readers ignore fields they do not know); its bytes are
 * otherwise kept as they are.
 */
export function withKeysInConfig(config: Buffer, layers: (Pick<KeyedLayer, 'key' | 'diffId' | 'compression'> | undefined)[]): Buffer {
  if (layers.every((l) => l === undefined)) return config;
  const end = config.lastIndexOf('}');
  const entries = layers.map((l) => (l === undefined ? null : { key: l.key, diff_id: l.diffId, compression: l.compression }));
  const field = `${config.subarray(0, end).toString('utf8').trimEnd().endsWith('{') ? '' : ', '}${JSON.stringify(CONFIG_FIELD)}: ${JSON.stringify(entries)}`;
  return Buffer.concat([config.subarray(0, end), Buffer.from(field), config.subarray(end)]);
}

/** The keyed layers of an image: from its manifest's layer annotations, else from its config's field. */
export function keyedLayers(manifest: { layers?: Descriptor[] }, config: () => Promise<Buffer>): Promise<KeyedLayer[]> {
  const layers = Array.isArray(manifest.layers) ? manifest.layers : [];
  const annotated = layers.flatMap((d) => {
    const a = d.annotations ?? {};
    return typeof a[KEY] === 'string' && typeof a[DIFF_ID] === 'string' && typeof a[COMPRESSION] === 'string'
      ? [{ key: a[KEY], diffId: a[DIFF_ID], compression: a[COMPRESSION], digest: d.digest, size: d.size }]
      : [];
  });
  if (annotated.length > 0) return Promise.resolve(annotated);
  return fromConfig(layers, config);
}

async function fromConfig(layers: Descriptor[], config: () => Promise<Buffer>): Promise<KeyedLayer[]> {
  let entries: unknown;
  try {
    entries = (JSON.parse((await config()).toString('utf8')) as Record<string, unknown>)[CONFIG_FIELD];
  } catch {
    return [];
  }
  if (!Array.isArray(entries) || entries.length !== layers.length) return [];
  return entries.flatMap((e: unknown, i) => {
    const { key, diff_id, compression } = (e ?? {}) as Record<string, unknown>;
    const d = layers[i]!;
    return typeof key === 'string' && typeof diff_id === 'string' && typeof compression === 'string' ? [{ key, diffId: diff_id, compression, digest: d.digest, size: d.size }] : [];
  });
}
