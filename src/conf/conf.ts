import { StrataError } from '../errors.js';
import { PyInt, type PyObject, type PyValue, dumpPyJson, parsePyJson } from '../util/pyjson.js';

/**
 * The configuration of the streaming builder, field for field the conf.json
 * nixpkgs' stream_layered_image.py reads. strata reads confs nixpkgs writes
 * and writes confs that script accepts.
 */
export interface Conf {
  architecture: string;
  /** The image's runtime config, kept in its original form and key order. */
  config: PyObject;
  /** "now" or an ISO 8601 time. */
  created: string;
  /** "now" or an ISO 8601 time: the time of every file in the layers. */
  mtime: string;
  uid: number;
  gid: number;
  uname: string;
  gname: string;
  store_dir: string;
  /** A docker-archive to build on, or null. */
  from_image: string | null;
  /** Store layers, bottom first. */
  store_layers: string[][];
  /** A directory with layer.tar and checksum, or a tree strata packs; null for none. */
  customisation_layer: string | null;
  repo_tag: string | null;
}

export const DEFAULT_TIME = '1970-01-01T00:00:01Z';

/** Parse and check a conf.json; a bad field gets an error naming it and what was expected. */
export function parseConf(text: string, source: string): Conf {
  const data = parsePyJson(text, source);
  if (!(data instanceof Map)) throw new StrataError(`${source}: expected a JSON object (a conf.json as strata conf or nixpkgs writes it)`);
  const bad = (field: string, expected: string): never => {
    throw new StrataError(`${source}: field '${field}' ${data.has(field) ? `must be ${expected}` : `is missing; expected ${expected}`}`);
  };
  const str = (field: string, fallback?: string): string => {
    const v = data.get(field);
    if (v === undefined && fallback !== undefined) return fallback;
    return typeof v === 'string' ? v : bad(field, 'a string');
  };
  const strOrNull = (field: string): string | null => {
    const v = data.get(field);
    if (v === undefined || v === null) return null;
    return typeof v === 'string' ? v : bad(field, 'a string or null');
  };
  // uid and gid arrive as numbers or, from some nixpkgs versions, strings.
  const id = (field: string): number => {
    const v = data.get(field);
    if (v === undefined) return 0;
    if (v instanceof PyInt && v.value >= 0n && v.value <= 0xffffffffn) return Number(v.value);
    if (typeof v === 'string' && /^\s*\+?\d+\s*$/.test(v) && Number(v) <= 0xffffffff) return Number(v);
    return bad(field, 'a non-negative integer (or a string of digits)');
  };
  const config = data.get('config') ?? new Map();
  if (!(config instanceof Map)) bad('config', 'an object (the image runtime config)');
  const layers = data.get('store_layers');
  if (!Array.isArray(layers) || layers.some((l) => !Array.isArray(l) || l.some((p) => typeof p !== 'string'))) {
    bad('store_layers', 'a list of lists of store paths');
  }
  const created = str('created', DEFAULT_TIME);
  return {
    architecture: str('architecture'),
    config: config as PyObject,
    created,
    mtime: str('mtime', created),
    uid: id('uid'),
    gid: id('gid'),
    uname: str('uname', 'root'),
    gname: str('gname', 'root'),
    store_dir: str('store_dir', '/nix/store'),
    from_image: strOrNull('from_image'),
    store_layers: layers as string[][],
    customisation_layer: strOrNull('customisation_layer'),
    repo_tag: strOrNull('repo_tag'),
  };
}

/** conf.json text, keys in the order nixpkgs writes them. */
export function renderConf(conf: Conf): string {
  const ordered = new Map<string, PyValue>([
    ['architecture', conf.architecture],
    ['config', conf.config],
    ['os', 'linux'],
    ['store_dir', conf.store_dir],
    ['from_image', conf.from_image],
    ['store_layers', conf.store_layers],
    ['customisation_layer', conf.customisation_layer],
    ['repo_tag', conf.repo_tag],
    ['created', conf.created],
    ['mtime', conf.mtime],
    ['uid', new PyInt(BigInt(conf.uid))],
    ['gid', new PyInt(BigInt(conf.gid))],
    ['uname', conf.uname],
    ['gname', conf.gname],
  ]);
  return dumpPyJson(ordered, 2) + '\n';
}

/** Parse an image runtime config given as JSON text (from --config). */
export function parseRuntimeConfig(text: string, source: string): PyObject {
  const v = parsePyJson(text, source);
  if (!(v instanceof Map)) throw new StrataError(`${source}: the image config must be a JSON object such as {"Entrypoint": ["/bin/sh"]}`);
  return v;
}
