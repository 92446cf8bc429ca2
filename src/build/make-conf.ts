import { readFile } from 'node:fs/promises';
import { storeName } from '../closure/store-path.js';
import type { Closure } from '../closure/types.js';
import { type Conf, DEFAULT_TIME, checkInherit, parseRuntimeConfig } from '../conf/conf.js';
import type { ConfOptions } from '../conf/from-plan.js';
import { StrataError } from '../errors.js';
import { type PermRule, parsePerms } from '../layer/perms.js';
import { type PyObject, parsePyJson } from '../util/pyjson.js';
import type { PlanImageOptions } from './plan-image.js';

/** What `strata conf` takes: a plan's options, and the image's. */
export interface MakeConfOptions extends PlanImageOptions, Pick<ConfOptions, 'architecture' | 'os' | 'variant' | 'author' | 'created' | 'mtime' | 'uid' | 'gid' | 'uname' | 'gname' | 'customisation'> {
  /** Image name (default: the first root's name without its hash). */
  name?: string;
  tag?: string;
  /** The runtime config: JSON text (starting with `{`), or a JSON file. */
  config?: string;
  entrypoint?: string[];
  /** KEY=VALUE entries added to config.Env. */
  env?: string[];
  /** KEY=VALUE entries added to config.Labels. */
  label?: string[];
  /** KEY=VALUE entries of the OCI manifest's annotations. */
  annotation?: string[];
  /** Ownership and mode rules: JSON text (starting with `[`), or a JSON file. */
  perms?: string;
  /** With `from`: base config keys kept where the image's config does not set them. */
  inherit?: string[];
  /** Record each store layer's digest and size (read once now), so writing the image reads every layer once. */
  digests?: boolean;
}

/**
 * The conf.json of an image (nixpkgs' streaming builder's format, with
 * strata's fields), with the NAR hashes its closure's source gave for its
 * store paths: the layers' keys, the same on any machine.
 */
export async function makeConf(options: MakeConfOptions): Promise<Conf> {
  const narHashes = new Map<string, string>();
  const seen = (closure: Closure): void => {
    for (const p of closure.paths) if (p.narHash !== undefined) narHashes.set(p.path, p.narHash);
  };
  const perms = options.perms === undefined ? undefined : await permsOf(options.perms);
  // As confFromPlan writes them: what a reused conf layer must match.
  const writing = { uid: options.uid ?? 0, gid: options.gid ?? 0, uname: options.uname ?? 'root', gname: options.gname ?? 'root', mtime: options.mtime ?? DEFAULT_TIME, perms };
  // Loaded here: stream, which reads confs with this module, plans nothing.
  const [{ planImage }, { confFromPlan }] = await Promise.all([import('./plan-image.js'), import('../conf/from-plan.js')]);
  const plan = await planImage(options, writing, seen);
  const firstRoot = options.roots?.[0]?.replace(/\/+$/, '').split('/').pop();
  const conf = confFromPlan(plan, {
    name: options.name ?? (firstRoot === undefined ? undefined : storeName(firstRoot)) ?? 'strata-image',
    tag: options.tag,
    config: await runtimeConfig(options),
    architecture: options.architecture,
    created: options.created,
    mtime: options.mtime,
    uid: options.uid,
    gid: options.gid,
    uname: options.uname,
    gname: options.gname,
    customisation: options.customisation,
    fromImage: options.from,
    os: options.os,
    author: options.author,
    variant: options.variant,
    annotations: options.annotation === undefined ? undefined : new Map(options.annotation.map((e) => keyValue('--annotation', e))),
    perms,
    inherit: inheritOf(options),
    warn: options.warn,
  });
  const inLayers = conf.store_layers.flat().filter((p) => narHashes.has(p)).sort();
  const hashed = inLayers.length === 0 ? conf : { ...conf, nar_hashes: new Map(inLayers.map((p) => [p, narHashes.get(p)!])) };
  // The store layer reader (and what it pulls in: tar, threads) is loaded for --digests alone.
  return options.digests ? (await import('./from-conf.js')).withLayerDigests(hashed) : hashed;
}

async function runtimeConfig(o: Pick<MakeConfOptions, 'config' | 'entrypoint' | 'env' | 'label'>): Promise<PyObject> {
  let config: PyObject = new Map();
  if (o.config !== undefined) config = parseRuntimeConfig(...(await jsonOption(o.config, '--config')));
  if (o.entrypoint) config.set('Entrypoint', o.entrypoint);
  for (const e of o.env ?? []) {
    keyValue('--env', e);
    const env = config.get('Env');
    config.set('Env', [...(Array.isArray(env) ? env : []), e]);
  }
  // A Labels of the wrong type is left for the config check to name.
  const labels = config.get('Labels') ?? new Map();
  if (o.label && labels instanceof Map) config.set('Labels', new Map([...labels, ...o.label.map((l) => keyValue('--label', l))]));
  return config;
}

async function permsOf(option: string): Promise<PermRule[]> {
  const [text, source] = await jsonOption(option, '--perms');
  return parsePerms(parsePyJson(text, source), source);
}

function inheritOf(o: Pick<MakeConfOptions, 'from' | 'inherit'>): string[] | undefined {
  if (o.inherit === undefined) return undefined;
  if (o.from === undefined) throw new StrataError('--inherit needs --from, the base image to inherit from');
  return checkInherit(o.inherit.map((k) => k.trim()), '--inherit');
}

function keyValue(option: string, entry: string): [string, string] {
  const i = entry.indexOf('=');
  if (i < 1) throw new StrataError(`${option} ${entry}: expected KEY=VALUE`);
  return [entry.slice(0, i), entry.slice(i + 1)];
}

/** An option holding JSON text or naming a JSON file: the text, and the name errors give. */
async function jsonOption(value: string, option: string): Promise<[string, string]> {
  return /^\s*[[{]/.test(value) ? [value, option] : [await readText(value, option), value];
}

/** A file's text; failing, one line naming the option and the file. */
export async function readText(file: string, what: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (e) {
    throw new StrataError(`${what} ${file}: cannot read (${(e as NodeJS.ErrnoException).code})`);
  }
}
