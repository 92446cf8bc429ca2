import { type IsoTime, isoformat } from '../util/isotime.js';
import { type PyObject, type PyValue, dumpPyJson } from '../util/pyjson.js';
import { pyRepr } from '../util/pyrepr.js';

export interface ImageConfigInput {
  created: IsoTime;
  architecture: string;
  /** The runtime config (Env, Entrypoint, Cmd, ...), in its original key order. */
  config: PyObject;
  /** Per layer, what it holds (the history comment). */
  contents: string[][];
  diffIds: string[];
}

/** The image config as nixpkgs' script writes it: fixed key order, indent 4, ASCII-escaped. */
export function imageConfigJson(input: ImageConfigInput): Buffer {
  const created = isoformat(input.created);
  const json: PyObject = new Map<string, PyValue>([
    ['created', created],
    ['architecture', input.architecture],
    ['os', 'linux'],
    ['config', input.config],
    ['rootfs', new Map<string, PyValue>([['diff_ids', input.diffIds], ['type', 'layers']])],
    [
      'history',
      input.contents.map((c) => new Map<string, PyValue>([['created', created], ['comment', `store paths: ${pyRepr(c)}`]])),
    ],
  ]);
  return Buffer.from(dumpPyJson(json, 4), 'utf8');
}

/**
 * Keep the base image's Env under the new one (last value of a key wins, at
 * the key's first position), as nixpkgs does; nothing else is inherited.
 */
export function overlayBaseConfig(base: PyObject | undefined, config: PyObject): PyObject {
  if (!base) return config;
  const env = [...asList(base.get('Env')), ...asList(config.get('Env'))];
  if (env.length === 0) return config;
  const byKey = new Map<string, PyValue>();
  for (const entry of env) byKey.set(String(entry).split('=')[0]!, entry);
  const merged = new Map(config);
  merged.set('Env', [...byKey.values()]);
  return merged;
}

function asList(v: PyValue | undefined): PyValue[] {
  return Array.isArray(v) ? v : [];
}
