import { type IsoTime, isoformat } from '../util/isotime.js';
import { type PyObject, type PyValue, dumpPyJson } from '../util/pyjson.js';
import { pyRepr } from '../util/pyrepr.js';

interface ImageConfigInput {
  created: IsoTime;
  architecture: string;
  os: string;
  /** Written only when given, where the OCI spec puts them (nixpkgs writes neither). */
  author?: string;
  variant?: string;
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
    ...optional('author', input.author),
    ['architecture', input.architecture],
    ...optional('variant', input.variant),
    ['os', input.os],
    ['config', input.config],
    ['rootfs', new Map<string, PyValue>([['diff_ids', input.diffIds], ['type', 'layers']])],
    [
      'history',
      input.contents.map((c) => new Map<string, PyValue>([['created', created], ['comment', `store paths: ${pyRepr(c)}`]])),
    ],
  ]);
  return Buffer.from(dumpPyJson(json, 4), 'utf8');
}

function optional(key: string, value: string | undefined): [string, PyValue][] {
  return value === undefined ? [] : [[key, value]];
}

/**
 * Keep the base image's Env under the new one (last value of a key wins, at
 * the key's first position), as nixpkgs does; and the base's values of the
 * `inherit` keys that `config` does not set (after its own keys).
 */
export function overlayBaseConfig(base: PyObject | undefined, config: PyObject, inherit: readonly string[] = []): PyObject {
  if (!base) return config;
  const merged = new Map(config);
  const env = [...asList(base.get('Env')), ...asList(config.get('Env'))];
  if (env.length > 0) {
    const byKey = new Map<string, PyValue>();
    for (const entry of env) byKey.set(String(entry).split('=')[0]!, entry);
    merged.set('Env', [...byKey.values()]);
  }
  for (const key of inherit) {
    const value = base.get(key);
    if (value !== undefined && !config.has(key)) merged.set(key, value);
  }
  return merged;
}

function asList(v: PyValue | undefined): PyValue[] {
  return Array.isArray(v) ? v : [];
}
