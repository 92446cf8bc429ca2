// A synthetic store graph shaped like nixpkgs closures: a few very popular
// paths (glibc, bash...), libraries referencing a handful of others, and
// applications near the top. Deterministic for a given size.
export function generateGraph(n, seed = 1) {
  let s = seed;
  const rand = () => ((s = (s * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  const hash = (i) => i.toString(32).padStart(32, '0').replace(/[eotu]/g, 'a');
  const paths = Array.from({ length: n }, (_, i) => `/nix/store/${hash(i)}-pkg${i}-1.${i % 7}`);
  return paths.map((path, i) => {
    const refs = new Set([path]);
    // Lower indices are more basic: reference a few of them, skewed to the very bottom.
    const count = i === 0 ? 0 : Math.min(i, 1 + Math.floor(rand() * 8));
    for (let k = 0; k < count; k++) refs.add(paths[Math.floor(Math.pow(rand(), 3) * i)]);
    return { path, narSize: 1000 + Math.floor(rand() * 5_000_000), references: [...refs] };
  });
}
