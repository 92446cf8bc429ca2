import { test } from 'node:test';
import assert from 'node:assert/strict';
import { squarify } from '../../src/index.js';

test('squarify: areas proportional to the values, tiling the rectangle', () => {
  const values = [6, 6, 4, 3, 2, 2, 1, 0];
  const rects = squarify(values, { x: 10, y: 20, w: 60, h: 40 });
  const scale = (60 * 40) / 24;
  values.forEach((v, i) => assert.ok(Math.abs(rects[i]!.w * rects[i]!.h - v * scale) < 1e-6, `value ${v}: ${JSON.stringify(rects[i])}`));
  for (const r of rects.slice(0, -1)) assert.ok(r.x >= 10 && r.y >= 20 && r.x + r.w <= 70 + 1e-9 && r.y + r.h <= 60 + 1e-9);
  // No two overlap.
  for (let i = 0; i < 7; i++) for (let j = i + 1; j < 7; j++) {
    const a = rects[i]!;
    const b = rects[j]!;
    const overlap = Math.min(a.x + a.w, b.x + b.w) - Math.max(a.x, b.x) > 1e-9 && Math.min(a.y + a.h, b.y + b.h) - Math.max(a.y, b.y) > 1e-9;
    assert.ok(!overlap, `${i} and ${j} overlap`);
  }
  // The first row of the first two (equal) values: squares' aspect closer to 1 than a strip.
  assert.ok(Math.max(rects[0]!.w / rects[0]!.h, rects[0]!.h / rects[0]!.w) < 2);
});
