import { appendFileSync } from 'node:fs';
import type { Layer } from '../../src/model/image.js';

/** `layer` with `file` changed right after its walk, before anything is read: the read must stop it. */
export function changedAfterWalk(layer: Layer, file: string): Layer {
  return {
    ...layer,
    walk: () => {
      const walked = layer.walk!();
      appendFileSync(file, 'changed\n');
      return walked;
    },
  };
}
