import { normaliseNarHash } from '../closure/nar-hash.js';
import { StrataError } from '../errors.js';
import { type PermRule, parsePerms, permsToPy } from '../layer/perms.js';
import { PyInt, type PyObject, type PyValue, dumpPyJson, parsePyJson } from '../util/pyjson.js';
import { validateImageConfig } from './runtime-config.js';

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
  /** An image to build on (docker-archive, OCI layout or archive; see formats/table.ts), or null. */
  from_image: string | null;
  /** Store layers, bottom first. */
  store_layers: string[][];
  /** A directory with layer.tar and checksum, or a tree strata packs; null for none. */
  customisation_layer: string | null;
  repo_tag: string | null;
  // Fields nixpkgs does not write (its script ignores unknown fields): each
  // is written only when set, so confs without them keep their bytes.
  /** The image's OS (nixpkgs always has "linux", the default). */
  os?: string;
  /** The image config's author. */
  author?: string;
  /** The CPU variant (v8 for arm64, v7 for arm): image config and OCI platform. */
  variant?: string;
  /** OCI manifest annotations. */
  annotations?: Map<string, string>;
  /** Ownership and permission rules for the layers strata packs (layer/perms.ts). */
  perms?: PermRule[];
  /** Keys of from_image's config (of INHERITABLE) kept where `config` does not set them. */
  inherit?: string[];
  /** Each store layer's tar digest and size, computed ahead (strata conf --digests). */
  store_layer_digests?: { digest: string; size: number }[];
  /** `sha256:<hex>` NAR hash of store paths of store_layers, by path: layer keys the same on any machine. */
  nar_hashes?: Map<string, string>;
}

/** The config keys a base image can pass on (Env always is, as in nixpkgs). */
export const INHERITABLE = ['Entrypoint', 'Cmd', 'WorkingDir', 'User', 'ExposedPorts', 'Volumes', 'Labels', 'StopSignal'];

/** Check a list of keys to inherit; `source` names where it came from. */
export function checkInherit(keys: string[], source: string): string[] {
  const bad = keys.find((k) => !INHERITABLE.includes(k));
  if (bad !== undefined) throw new StrataError(`${source}: '${bad}' cannot be inherited; expected some of ${INHERITABLE.join(', ')}`);
  return keys;
}

/** What parseConf and confFromPlan report besides errors. */
export interface ConfWarnings {
  warn?: (message: string) => void;
}

export const DEFAULT_TIME = '1970-01-01T00:00:01Z';

/** Parse and check a conf.json; a bad field gets an error naming it and what was expected. */
export function parseConf(text: string, source: string, options: ConfWarnings = {}): Conf {
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
  const annotations = data.get('annotations');
  if (annotations !== undefined && !(annotations instanceof Map && [...annotations.values()].every((v) => typeof v === 'string'))) {
    bad('annotations', 'an object of strings');
  }
  const optional = (field: string): string | undefined => (data.has(field) ? str(field) : undefined);
  const inheritField = (v: PyValue): string[] =>
    Array.isArray(v) && v.every((k) => typeof k === 'string') ? checkInherit(v as string[], `${source}: field 'inherit'`) : bad('inherit', 'a list of config keys');
  const created = str('created', DEFAULT_TIME);
  return {
    architecture: str('architecture'),
    config: validateImageConfig(config as PyObject, { source, warn: options.warn }),
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
    os: optional('os'),
    author: optional('author'),
    variant: optional('variant'),
    annotations: annotations as Map<string, string> | undefined,
    perms: data.has('perms') ? parsePerms(data.get('perms')!, source) : undefined,
    inherit: data.has('inherit') ? inheritField(data.get('inherit')!) : undefined,
    store_layer_digests: data.has('store_layer_digests') ? layerDigests(data.get('store_layer_digests')!, (layers as string[][]).length, bad) : undefined,
    nar_hashes: data.has('nar_hashes') ? narHashes(data.get('nar_hashes')!, layers as string[][], source, bad) : undefined,
  };
}

/** Store paths of store_layers with their NAR hashes, each put as `sha256:<hex>`. */
function narHashes(v: PyValue, layers: string[][], source: string, bad: (field: string, expected: string) => never): Map<string, string> {
  if (!(v instanceof Map)) return bad('nar_hashes', 'an object of store path to NAR hash ("sha256:<hex>"), as strata conf writes it');
  const paths = new Set(layers.flat());
  const hashes = new Map<string, string>();
  for (const [path, hash] of v) {
    if (!paths.has(path)) throw new StrataError(`${source}: field 'nar_hashes' names '${path}', which is in no store layer; drop it or add the path to store_layers`);
    const normal = typeof hash === 'string' ? normaliseNarHash(hash) : undefined;
    if (normal === undefined) throw new StrataError(`${source}: field 'nar_hashes': the hash of '${path}' must be a sha256 NAR hash ("sha256:<hex>", base-32 or SRI)`);
    hashes.set(path, normal);
  }
  return hashes;
}

/** One {digest, size} per store layer. */
function layerDigests(v: PyValue, count: number, bad: (field: string, expected: string) => never): { digest: string; size: number }[] {
  const expected = `a list of ${count} {"digest": "sha256:<hex>", "size": bytes}, one per store layer (strata conf --digests writes it)`;
  if (!Array.isArray(v) || v.length !== count) return bad('store_layer_digests', expected);
  return v.map((d) => {
    const digest = d instanceof Map ? d.get('digest') : undefined;
    const size = d instanceof Map ? d.get('size') : undefined;
    if (typeof digest !== 'string' || !/^sha256:[0-9a-f]{64}$/.test(digest) || !(size instanceof PyInt) || size.value < 0n) return bad('store_layer_digests', expected);
    return { digest, size: Number(size.value) };
  });
}

/** conf.json text, keys in the order nixpkgs writes them. */
export function renderConf(conf: Conf): string {
  const ordered = new Map<string, PyValue>([
    ['architecture', conf.architecture],
    ['config', conf.config],
    ['os', conf.os ?? 'linux'],
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
  // Before the extras options set: those keep their place at the end.
  if (conf.nar_hashes !== undefined && conf.nar_hashes.size > 0) ordered.set('nar_hashes', conf.nar_hashes);
  if (conf.author !== undefined) ordered.set('author', conf.author);
  if (conf.variant !== undefined) ordered.set('variant', conf.variant);
  if (conf.annotations !== undefined) ordered.set('annotations', conf.annotations);
  if (conf.perms !== undefined) ordered.set('perms', permsToPy(conf.perms));
  if (conf.inherit !== undefined) ordered.set('inherit', conf.inherit);
  if (conf.store_layer_digests !== undefined) {
    const digests = conf.store_layer_digests.map((d) => new Map<string, PyValue>([['digest', d.digest], ['size', new PyInt(BigInt(d.size))]]));
    ordered.set('store_layer_digests', digests);
  }
  return dumpPyJson(ordered, 2) + '\n';
}

/** Parse an image runtime config given as JSON text (from --config). */
export function parseRuntimeConfig(text: string, source: string): PyObject {
  const v = parsePyJson(text, source);
  if (!(v instanceof Map)) throw new StrataError(`${source}: the image config must be a JSON object such as {"Entrypoint": ["/bin/sh"]}`);
  return v;
}
