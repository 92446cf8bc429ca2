import { readFileSync } from 'node:fs';
import { StrataError } from '../errors.js';
import { DEFAULT_MAX_LAYERS, DEFAULT_STRATEGY, type Strategy } from '../plan/plan.js';
import { templatePath } from './template.js';

/** What `strata render guix` turns into an image.scm for `guix build -f`. */
export interface GuixImageSpec {
  name: string;
  /** Package specifications, as `guix install` takes them: "guile", "guile@3.0", "glibc:debug". */
  packages: string[];
  tag?: string;
  maxLayers?: number;
  /** How strata groups the store items: shared (strata's own, the default), popularity (nixpkgs), size (as guix pack --max-layers), auto. */
  strategy?: Strategy;
  /** A file name relative to the profile (bin/app), as `guix pack --entry-point`, or absolute. */
  entryPoint?: string;
  entryPointArguments?: string[];
  /** Links made in the image, as `guix pack -S SOURCE=TARGET`: SOURCE absolute, TARGET in the profile. */
  symlinks?: { source: string; target: string }[];
  /** The image's runtime config as JSON text. */
  config?: string;
  format?: 'docker' | 'oci';
  compression?: 'gzip' | 'zstd';
}

/**
 * A string as a Scheme string literal: backslash and double quote escaped,
 * every other character (newlines, tabs, any Unicode) as it is, which
 * Guile's reader reads back unchanged.
 */
export function schemeString(value: string): string {
  return '"' + value.replace(/[\\"]/g, (c) => '\\' + c) + '"';
}

/** A list of strings as a Scheme expression: `(list "a" "b")`. */
export function schemeStringList(values: readonly string[]): string {
  return values.length === 0 ? "'()" : `(list ${values.map(schemeString).join(' ')})`;
}

/** The text of an image.scm that builds `spec` with the strata channel's `layered-image`. */
export async function renderGuixImage(spec: GuixImageSpec): Promise<string> {
  if (spec.name === '') throw new StrataError('--name must not be empty');
  if (spec.packages.length === 0) throw new StrataError('--packages: name at least one package');
  const maxLayers = spec.maxLayers ?? DEFAULT_MAX_LAYERS;
  if (!(Number.isInteger(maxLayers) && maxLayers >= 1)) throw new StrataError(`--max-layers ${maxLayers}: expected a whole number, 1 or more`);
  for (const s of spec.symlinks ?? []) {
    if (!s.source.startsWith('/')) throw new StrataError(`--symlink ${s.source}=${s.target}: the link must be an absolute file name in the image`);
  }
  if (spec.config !== undefined) {
    try {
      JSON.parse(spec.config);
    } catch {
      throw new StrataError('--config: expected JSON text');
    }
  }
  if (spec.compression !== undefined && spec.format !== 'oci') {
    throw new StrataError('--compression needs --format oci: a docker-archive\'s layers are not compressed');
  }
  // Loaded on use, as execa is.
  const { default: Handlebars } = await import('handlebars');
  const hb = Handlebars.create();
  hb.registerHelper('scm', (value: unknown) => schemeString(String(value)));
  hb.registerHelper('scm-list', (values: unknown) => schemeStringList(Array.isArray(values) ? values.map(String) : []));
  const template = hb.compile(readFileSync(templatePath('image.scm.hbs'), 'utf8'), { noEscape: false, strict: false });
  return template({
    name: spec.name,
    packages: spec.packages,
    tag: spec.tag ?? 'latest',
    maxLayers,
    strategy: spec.strategy ?? DEFAULT_STRATEGY,
    entryPoint: spec.entryPoint,
    entryPointArguments: spec.entryPointArguments ?? [],
    symlinks: spec.symlinks ?? [],
    config: spec.config,
    format: spec.format ?? 'docker',
    compression: spec.compression,
  });
}
