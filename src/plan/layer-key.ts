/** A layer's identity across plans and images: its exact set of store paths. */
export function layerKey(paths: readonly string[]): string {
  return [...paths].sort().join('\n');
}
