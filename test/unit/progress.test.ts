import { test } from 'node:test';
import assert from 'node:assert/strict';
import { estimatedTotal, formatDuration, formatProgress, initialState, type ProgressState, shortLabel } from '../../src/index.js';

const HASH = '0123456789abcdfghijklmnpqrsvwxyz';
const MiB = 1 << 20;

const midLayer: ProgressState = {
  ...initialState(),
  layer: 2,
  layers: 3,
  label: `/nix/store/${HASH}-lib-a`,
  layerSize: 2 * MiB,
  layerStart: MiB,
  bytes: 2 * MiB,
  knownBytes: 3 * MiB,
  knownLayers: 2,
  elapsed: 2,
};

test('a progress line: bar, percentage, bytes of the estimated total, speed, ETA and the layer\'s store path names', () => {
  // 1 MiB done + this 2 MiB layer + one more at the 1.5 MiB average.
  assert.equal(estimatedTotal(midLayer), 4.5 * MiB);
  assert.equal(formatProgress(midLayer, 200), 'layer 2/3 [#########-----------]  44% 2.0 MiB/4.5 MiB 1.0 MiB/s ETA 0:03 lib-a');
  const finished = { ...midLayer, layer: 3, label: `/nix/store/${HASH}-app`, bytes: 5 * MiB, elapsed: 65, finished: true };
  assert.equal(formatProgress(finished, 200), 'layer 3/3 [####################] 100% 5.0 MiB/5.0 MiB 78.8 KiB/s in 1:05 app');
  // No size known (compressed OCI layers): no bar, percentage or ETA.
  const unsized = { ...initialState(), layer: 1, layers: 2, label: `/gnu/store/${HASH}-busybox /gnu/store/${HASH}-data`, bytes: 1536, elapsed: 1 };
  assert.equal(estimatedTotal(unsized), undefined);
  assert.equal(formatProgress(unsized, 200), 'layer 1/2 1.5 KiB 1.5 KiB/s busybox data');
  // Never as wide as the terminal: a wrapped line would not be redrawn in place.
  const narrow = formatProgress(midLayer, 30);
  assert.equal(narrow.length, 29);
  assert.ok(formatProgress(midLayer, 200).startsWith(narrow));
});

test('durations and labels for the progress line', () => {
  assert.deepEqual([0, 9.6, 65, 3599, 3600, 36061].map(formatDuration), ['0:00', '0:10', '1:05', '59:59', '1:00:00', '10:01:01']);
  const diffId = 'dcc1f7c8527f5b600267ad69b96d69cf6bbc7ed628da3616dc568a781d740b98';
  assert.equal(shortLabel(`/nix/store/${HASH}-glibc-2.40 ${diffId}/layer.tar`), 'glibc-2.40 dcc1f7c8527f');
});
