// A conf.json and a plan of many layers naming store paths this machine
// lacks (or that lie outside the store): what strata must read, validate
// and refuse in linear time and memory. bench/run.mjs times the refusals.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

const missing = (i) => `/nix/store/${'x'.repeat(32)}-missing-${i}`;

/** A conf of `layers` store layers, one missing path each; returns its file. */
export function writeLargeConf(dir, layers = 200_000) {
  const file = join(dir, `large-conf-${layers}.json`);
  const store_layers = Array.from({ length: layers }, (_, i) => [missing(i)]);
  writeFileSync(file, JSON.stringify({
    architecture: 'amd64', config: {}, created: '1970-01-01T00:00:01Z', mtime: '1970-01-01T00:00:01Z', from_image: null,
    store_dir: '/nix/store', store_layers, customisation_layer: null, repo_tag: 'large:latest', uid: 0, gid: 0, uname: 'root', gname: 'root',
  }));
  return file;
}

/** A plan (strata plan --format json) of `layers` layers whose last path lies outside the store; returns its file. */
export function writeLargePlan(dir, layers = 200_000) {
  const file = join(dir, `large-plan-${layers}.json`);
  const planned = Array.from({ length: layers }, (_, i) => ({ paths: [i === layers - 1 ? '/tmp/not-a-store-path' : missing(i)], size: 4096 }));
  writeFileSync(file, JSON.stringify({ layers: planned, strategy: 'shared', maxLayers: layers + 1, storeDir: '/nix/store' }, null, 2));
  return file;
}
