/** nixpkgs' limit_layers: the first n-1 paths get a layer each, the rest share the last. */
export function limitLayers(order: string[], n: number): string[][] {
  const layers = order.slice(0, n - 1).map((p) => [p]);
  if (order.length > n - 1) layers.push(order.slice(n - 1));
  return layers;
}
