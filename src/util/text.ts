// Numbers and lists as messages and reports show them.

/** Bytes in binary units with one decimal: `1.5 MiB`, `512 B`. */
export function humanSize(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${v} B` : `${v.toFixed(1)} ${units[u]}`;
}

/** The first `shown` items joined, then how many more: `a, b, c (+4 more)`. */
export function firstFew(items: readonly string[], separator = ', ', shown = 3): string {
  const head = items.slice(0, shown).join(separator);
  return items.length > shown ? `${head} (+${items.length - shown} more)` : head;
}
