export interface Rect {
  x: number;
  y: number;
  w: number;
  h: number;
}

/**
 * The squarified treemap layout (Bruls, Huizing and van Wijk): rectangles
 * with areas proportional to `values` tiling `rect`, laid out largest first
 * in rows along the shorter side, each row grown while that does not make
 * its worst aspect ratio worse. Returns one rectangle per value, in the
 * order of `values`; a value of 0 gets an empty rectangle.
 */
export function squarify(values: number[], rect: Rect): Rect[] {
  const out: Rect[] = values.map(() => ({ x: rect.x, y: rect.y, w: 0, h: 0 }));
  const order = values.map((_, i) => i).filter((i) => values[i]! > 0).sort((a, b) => values[b]! - values[a]! || a - b);
  const total = order.reduce((s, i) => s + values[i]!, 0);
  if (total === 0 || rect.w <= 0 || rect.h <= 0) return out;
  const scale = (rect.w * rect.h) / total;
  const area = (i: number): number => values[i]! * scale;
  let { x, y, w, h } = rect;
  // The worst aspect ratio of a row of areas summing to `sum` along a side of length `side`.
  const worst = (row: number[], sum: number, side: number): number => {
    let max = 0;
    for (const i of row) {
      const a = area(i);
      max = Math.max(max, (side * side * a) / (sum * sum), (sum * sum) / (side * side * a));
    }
    return max;
  };
  let k = 0;
  while (k < order.length) {
    const side = Math.min(w, h);
    const row = [order[k++]!];
    let sum = area(row[0]!);
    while (k < order.length) {
      const next = order[k]!;
      if (worst([...row, next], sum + area(next), side) > worst(row, sum, side)) break;
      row.push(next);
      sum += area(next);
      k++;
    }
    // The last row takes what is left, so rounding never leaves a gap.
    const thick = k === order.length ? (w >= h ? w : h) : sum / side;
    let offset = 0;
    for (const i of row) {
      const length = (area(i) / sum) * side;
      out[i] = w >= h ? { x, y: y + offset, w: thick, h: length } : { x: x + offset, y, w: length, h: thick };
      offset += length;
    }
    if (w >= h) {
      x += thick;
      w -= thick;
    } else {
      y += thick;
      h -= thick;
    }
  }
  return out;
}
