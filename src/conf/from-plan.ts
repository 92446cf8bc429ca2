import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import type { Plan } from '../plan/plan.js';
import type { PyObject } from '../util/pyjson.js';
import { type Conf, type ConfWarnings, DEFAULT_TIME, renderConf } from './conf.js';
import { validateImageConfig } from './runtime-config.js';

/** Options of a conf; the fields strata adds to nixpkgs' conf (documented on Conf) are taken as they are. */
export interface ConfOptions extends ConfWarnings, Partial<Pick<Conf, 'os' | 'author' | 'variant' | 'annotations' | 'perms' | 'inherit'>> {
  /** Image name (lower-cased, as nixpkgs does). */
  name: string;
  /** Image tag; by default a hash of the rest of the conf, so it changes when the image does. */
  tag?: string;
  config?: PyObject;
  architecture?: string;
  created?: string;
  mtime?: string;
  uid?: number;
  gid?: number;
  uname?: string;
  gname?: string;
  /** A ready layer.tar+checksum directory or a tree to pack; none when absent. Relative to the working directory: the conf holds it absolute, to be streamed from anywhere. */
  customisation?: string;
  fromImage?: string;
}

/** The conf.json for a plan. */
export function confFromPlan(plan: Plan, options: ConfOptions): Conf {
  const conf: Conf = {
    architecture: options.architecture ?? goArch(process.arch),
    config: validateImageConfig(options.config ?? new Map(), { warn: options.warn }),
    created: options.created ?? DEFAULT_TIME,
    mtime: options.mtime ?? DEFAULT_TIME,
    uid: options.uid ?? 0,
    gid: options.gid ?? 0,
    uname: options.uname ?? 'root',
    gname: options.gname ?? 'root',
    store_dir: plan.storeDir,
    from_image: options.fromImage ?? null,
    store_layers: plan.layers.map((l) => l.paths),
    customisation_layer: options.customisation === undefined ? null : resolve(options.customisation),
    repo_tag: null,
    os: options.os,
    author: options.author,
    variant: options.variant,
    annotations: options.annotations,
    perms: options.perms,
    inherit: options.inherit,
  };
  const tag = options.tag ?? createHash('sha256').update(renderConf(conf)).update(options.name).digest('hex').slice(0, 32);
  return { ...conf, repo_tag: `${options.name.toLowerCase()}:${tag}` };
}

/** Go's GOARCH names, which image configs use, for Node's process.arch. */
export function goArch(arch: string): string {
  const names: Record<string, string> = { x64: 'amd64', ia32: '386', arm64: 'arm64', arm: 'arm', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64', loong64: 'loong64', mips: 'mips', mipsel: 'mipsle' };
  return names[arch] ?? arch;
}
