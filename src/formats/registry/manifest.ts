import { StrataError } from '../../errors.js';
import { type Compression, layerMediaType } from '../../image/compression-names.js';
import type { Descriptor } from '../../model/image.js';
import { DOCKER_CONFIG, DOCKER_LAYER, DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, OCI_CONFIG, OCI_INDEX, OCI_MANIFEST } from '../../model/media-types.js';

export const MANIFEST_FORMATS = ['oci', 'docker'] as const;
export type ManifestFormat = (typeof MANIFEST_FORMATS)[number];

/** The media types a manifest format names its parts with. */
export interface MediaTypes {
  manifest: string;
  index: string;
  config: string;
  layer(c: Compression): string;
}

export function mediaTypes(format: ManifestFormat): MediaTypes {
  if (format === 'oci') return { manifest: OCI_MANIFEST, index: OCI_INDEX, config: OCI_CONFIG, layer: layerMediaType };
  return {
    manifest: DOCKER_MANIFEST,
    index: DOCKER_MANIFEST_LIST,
    config: DOCKER_CONFIG,
    layer(c) {
      if (c === 'zstd') throw new StrataError('--compression zstd: Docker schema 2 manifests have no zstd layers; use --manifest-format oci or --compression gzip');
      return c === 'none' ? DOCKER_LAYER : `${DOCKER_LAYER}.gzip`;
    },
  };
}

/** An image manifest; Docker's has no annotations. */
export function imageManifest(format: ManifestFormat, config: Descriptor, layers: Descriptor[], annotations?: Record<string, string>): Buffer {
  const keep = format === 'oci' && annotations && Object.keys(annotations).length > 0;
  return Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: mediaTypes(format).manifest, config, layers, ...(keep ? { annotations } : {}) }));
}

/** A multi-platform index (OCI) or manifest list (Docker). */
export function indexManifest(format: ManifestFormat, manifests: Descriptor[]): Buffer {
  return Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: mediaTypes(format).index, manifests }));
}
