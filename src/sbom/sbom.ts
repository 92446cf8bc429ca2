import type { Closure } from '../closure/types.js';
import { shortName } from '../closure/store-path.js';
import { parseDrvName } from './drv-name.js';

// What an SBOM says about an image's closure, whatever the document format.

/** One store path as a package. */
export interface SbomPackage {
  path: string;
  /** Split from the store name as Nix's parseDrvName does. */
  name: string;
  version: string;
  /** Where the closure knows it (an image's history names paths alone). */
  narSize?: number;
  /** `sha256:<hex>`, where the closure knows it. */
  narHash?: string;
  /** Digest of the image layer holding the path, when the SBOM describes an image. */
  layer?: string;
  /** References to other paths of the closure, sorted, the path itself left out; none where unknown. */
  dependsOn?: string[];
}

/** The image an SBOM describes. */
interface SbomImage {
  name: string;
  tag?: string;
  /** The image manifest's digest. */
  digest?: string;
}

export interface SbomModel {
  packages: SbomPackage[];
  /** Paths no other path references: what the image was asked to hold; none where references are unknown. */
  roots?: string[];
  image?: SbomImage;
  tool: { name: string; version: string };
  /** What the document cannot say, and why. */
  note?: string;
}

interface SbomInput {
  closure: Closure;
  /** Layers of the image in order: digest and the store paths each holds. */
  layers?: { digest: string; paths: readonly string[] }[];
  image?: SbomImage;
  tool: { name: string; version: string };
}

/** Each path's layer: the topmost that holds it. */
function layersOfPaths(layers: { digest: string; paths: readonly string[] }[]): Map<string, string> {
  const layerOf = new Map<string, string>();
  for (const layer of layers) for (const p of layer.paths) layerOf.set(p, layer.digest);
  return layerOf;
}

/** The packages of a closure, in store path order, and its roots. */
export function sbomModel(input: SbomInput): SbomModel {
  const layerOf = layersOfPaths(input.layers ?? []);
  const referenced = new Set<string>();
  const packages = input.closure.paths.map((p): SbomPackage => {
    const dependsOn = [...new Set(p.references)].filter((r) => r !== p.path).sort();
    for (const r of dependsOn) referenced.add(r);
    const layer = layerOf.get(p.path);
    return {
      path: p.path,
      ...parseDrvName(shortName(p.path)),
      narSize: p.narSize,
      ...(p.narHash === undefined ? {} : { narHash: p.narHash }),
      ...(layer === undefined ? {} : { layer }),
      dependsOn,
    };
  });
  packages.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const roots = packages.filter((p) => !referenced.has(p.path)).map((p) => p.path);
  return { packages, roots, ...(input.image === undefined ? {} : { image: input.image }), tool: input.tool };
}

/**
 * The packages of an image read back: the store paths its history names per
 * layer. NAR hashes, sizes and references are not in an image, so the model
 * leaves them out and says so.
 */
export function historySbomModel(input: Omit<SbomInput, 'closure'> & { layers: { digest: string; paths: readonly string[] }[] }): SbomModel {
  const packages = [...layersOfPaths(input.layers)].map(([path, layer]): SbomPackage => ({ path, ...parseDrvName(shortName(path)), layer }));
  packages.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return {
    packages,
    ...(input.image === undefined ? {} : { image: input.image }),
    tool: input.tool,
    note: "store paths and their layers from the image history's store paths comments; an image holds no NAR hashes, NAR sizes or references",
  };
}
