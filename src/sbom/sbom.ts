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
  narSize: number;
  /** `sha256:<hex>`, where the closure knows it. */
  narHash?: string;
  /** Digest of the image layer holding the path, when the SBOM describes an image. */
  layer?: string;
  /** References to other paths of the closure, sorted, the path itself left out. */
  dependsOn: string[];
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
  /** Paths no other path references: what the image was asked to hold. */
  roots: string[];
  image?: SbomImage;
  tool: { name: string; version: string };
}

interface SbomInput {
  closure: Closure;
  /** Layers of the image in order: digest and the store paths each holds. */
  layers?: { digest: string; paths: readonly string[] }[];
  image?: SbomImage;
  tool: { name: string; version: string };
}

/** The packages of a closure, in store path order, and its roots. */
export function sbomModel(input: SbomInput): SbomModel {
  const layerOf = new Map<string, string>();
  for (const layer of input.layers ?? []) for (const p of layer.paths) layerOf.set(p, layer.digest);
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
