import { humanSize } from '../util/text.js';
import type { ImageSource, SourceImage } from '../image/source.js';
import { type SourceOptions, openImageSource } from '../formats/table.js';
import { platformName, selectImage } from '../image/platform.js';
import { fromPy } from '../util/pyjson.js';
import { historyPaths } from '../image/history.js';
import type { Platform } from '../model/image.js';

interface InspectedLayer {
  /** 1 for the bottom layer. */
  index: number;
  mediaType: string;
  /** Size as stored (compressed or not). */
  size: number;
  digest: string;
  diffId: string;
  /** What the image history says the layer holds ("store paths: [...]", as strata and nixpkgs write). */
  storePaths: string[];
}

/** What `strata inspect` shows, and prints with --json. */
export interface Inspection {
  name: string;
  format: string;
  manifest: { mediaType: string; digest: string; size: number } | null;
  refs: string[];
  platform: string;
  config: { digest: string; size: number; created: unknown; architecture: unknown; os: unknown; Entrypoint: unknown; Cmd: unknown; Env: unknown };
  layers: InspectedLayer[];
  total: { layers: number; size: number };
}

/** What `strata inspect` takes. */
export interface InspectOptions {
  /** The image, named as locateImage reads it. */
  image: string;
  /** Which image of a multi-platform index (default: the host's, or the only one). */
  platform?: Platform;
  /** How a docker:// image is reached (credentials, TLS); default: the auth files. */
  source?: SourceOptions;
}

/** Describe an image without reading its layers: `strata inspect`. */
export async function inspectImage(options: InspectOptions): Promise<Inspection> {
  const source = await openImageSource(options.image, options.source);
  try {
    return inspectSource(source, selectImage(source, options.platform));
  } finally {
    await source.close();
  }
}

/** Describe every image `name` holds (one per platform of an index). */
export async function inspectImages(name: string): Promise<Inspection[]> {
  const source = await openImageSource(name);
  try {
    return source.images.map((image) => inspectSource(source, image));
  } finally {
    await source.close();
  }
}

/** Describe one image of an opened source, from its manifest and config alone. */
export function inspectSource(source: ImageSource, image: SourceImage): Inspection {
  const config = fromPy(image.config.json) as Record<string, unknown>;
  const runtime = (config.config ?? {}) as Record<string, unknown>;
  const paths = historyPaths(image);
  const layers = image.layers.map((l, i): InspectedLayer => ({
    index: i + 1,
    mediaType: l.blob.mediaType,
    size: l.blob.size,
    digest: l.blob.digest,
    diffId: l.known.digest,
    storePaths: paths[i] ?? [],
  }));
  return {
    name: source.name,
    format: source.format,
    manifest: image.manifest ?? null,
    refs: image.refs,
    platform: platformName(image.platform),
    config: {
      digest: image.config.digest,
      size: image.config.size,
      created: config.created ?? null,
      architecture: config.architecture ?? null,
      os: config.os ?? null,
      Entrypoint: runtime.Entrypoint ?? null,
      Cmd: runtime.Cmd ?? null,
      Env: runtime.Env ?? null,
    },
    layers,
    total: { layers: layers.length, size: layers.reduce((s, l) => s + l.size, 0) },
  };
}

/** An inspection for people. */
export function inspectionText(r: Inspection): string {
  const show = (v: unknown): string => (v === null ? '-' : typeof v === 'string' ? v : JSON.stringify(v));
  const bytes = (n: number): string => `${humanSize(n)} (${n} bytes)`;
  const lines = [
    `image       ${r.name} (${r.format})`,
    ...(r.manifest ? [`manifest    ${r.manifest.digest} ${r.manifest.mediaType}, ${bytes(r.manifest.size)}`] : []),
    ...(r.refs.length > 0 ? [`names       ${r.refs.join(', ')}`] : []),
    `platform    ${r.platform}`,
    `created     ${show(r.config.created)}`,
    `config      ${r.config.digest}, ${bytes(r.config.size)}`,
    `entrypoint  ${show(r.config.Entrypoint)}`,
    `cmd         ${show(r.config.Cmd)}`,
    ...(Array.isArray(r.config.Env) && r.config.Env.length > 0 ? r.config.Env.map((e, i) => `${i === 0 ? 'env' : '   '}         ${show(e)}`) : ['env         -']),
    `layers      ${r.total.layers}, ${bytes(r.total.size)} as stored`,
  ];
  for (const l of r.layers) {
    lines.push('', `layer ${l.index}  ${l.mediaType}, ${bytes(l.size)}`, `  digest   ${l.digest}`, `  diff_id  ${l.diffId}`);
    for (const p of l.storePaths) lines.push(`  ${p}`);
  }
  return lines.join('\n') + '\n';
}
