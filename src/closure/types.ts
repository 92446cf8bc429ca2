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

/** What a kind of store is asked for a closure. */
export interface ClosureRequest {
  /** Store paths (or links to them) whose closure is wanted. */
  roots: string[];
  /** A reference graph file to read instead (the graph-file kind). */
  graph?: string;
  /** The `.attrs.json` key holding the graph, when it holds several. */
  graphKey?: string;
  storeDir?: string;
  /** Told about what had to be guessed (sizes missing from a graph file). */
  warn?: (message: string) => void;
}

/** A kind of store (one folder under src/closure/stores/, one line in stores/table.ts's STORES): how it answers a request. */
export interface StoreKind {
  closure(request: ClosureRequest): Promise<Closure>;
}

/** Sort by store path (code-unit order equals byte order for store path names, which are ASCII). */
export function sortPaths(paths: StorePathInfo[]): StorePathInfo[] {
  return [...paths].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
