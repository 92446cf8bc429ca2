/** One store path of a closure: what layering and packing need to know. */
export interface StorePathInfo {
  path: string;
  /** NAR size in bytes (from the store, or computed by walking the files). */
  narSize: number;
  /** Direct references, possibly including the path itself. */
  references: string[];
  /** `sha256:<hex>` of the path's NAR, where the store or graph file gave it. */
  narHash?: string;
}

/** A closure: every path it holds, in a stable (sorted) order. */
export interface Closure {
  storeDir: string;
  paths: StorePathInfo[];
}

/** Sort by store path (code-unit order equals byte order for store path names, which are ASCII). */
export function sortPaths(paths: StorePathInfo[]): StorePathInfo[] {
  return [...paths].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
