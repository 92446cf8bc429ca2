import type { SourceImage } from './source.js';
import type { PyValue } from '../util/pyjson.js';
import { parseReprList } from '../util/pyrepr.js';

/**
 * Per layer, the store paths its history entry names ("store paths: [...]",
 * as strata and nixpkgs write); none when the history does not line up with
 * the layers.
 */
export function historyPaths(image: SourceImage): string[][] {
  const history = image.config.json.get('history');
  if (!Array.isArray(history)) return [];
  const entries = history.filter((h: PyValue) => h instanceof Map && h.get('empty_layer') !== true) as Map<string, PyValue>[];
  if (entries.length !== image.layers.length) return [];
  return entries.map((h) => {
    const comment = h.get('comment');
    const list = typeof comment === 'string' && comment.startsWith('store paths: ') ? parseReprList(comment.slice('store paths: '.length)) : undefined;
    return list ?? [];
  });
}
