import { readFileSync } from 'node:fs';
import { StrataError } from '../errors.js';
import { DEFAULT_MAX_LAYERS } from '../plan/plan.js';
import { templatePath } from './template.js';

/** What `strata render nix` turns into an image.nix for nix-build. */
export interface NixImageSpec {
  name: string;
  /**
   * Store paths (/nix/store/...), local paths (/..., ./...), or attribute
   * paths of pkgs (hello, python3Packages.flask).
   */
  contents: string[];
  /** The image's runtime config as JSON text. */
  config?: string;
  tag?: string;
  maxLayers?: number;
  /** Where nix/default.nix of strata is (default: <strata/nix>, found through -I strata=...). */
  strataNix?: string;
  storeDir?: string;
}

/**
 * A string as a Nix double-quoted string literal: `\`, `"` and every `$`
 * escaped (so neither `${` nor `$${` starts an interpolation), newline, CR
 * and tab as `\n`, `\r`, `\t`; any other character, Unicode included, as
 * it is. Nix strings cannot hold NUL.
 */
export function nixString(value: string): string {
  if (value.includes('\0')) throw new StrataError('a Nix string cannot hold a NUL character');
  const escaped = value.replace(/[\\"$\n\r\t]/g, (c) => (c === '\n' ? '\\n' : c === '\r' ? '\\r' : c === '\t' ? '\\t' : '\\' + c));
  return `"${escaped}"`;
}

/** A comment's text: one line. */
function nixComment(value: string): string {
  return value.replace(/[\r\n]+/g, ' ');
}

/** A `contents` entry as a Nix expression. */
export function contentsEntry(entry: string, storeDir = '/nix/store'): string {
  if (entry === '') throw new StrataError('--contents: an entry is empty');
  if (entry.startsWith(storeDir + '/')) return `(fromStore ${nixString(entry)})`;
  if (entry.startsWith('/') || entry.startsWith('./') || entry.startsWith('../')) {
    // A local path, copied into the store under a fixed name (so the
    // directory's name does not matter).
    const base = entry.startsWith('/') ? `/. + ${nixString(entry)}` : `./. + ${nixString('/' + entry)}`;
    return `(builtins.path { path = ${base}; name = "contents"; })`;
  }
  if (!/^[A-Za-z_][A-Za-z0-9_'-]*(\.[A-Za-z_][A-Za-z0-9_'-]*)*$/.test(entry)) {
    throw new StrataError(`--contents ${entry}: expected a store path, a local path, or an attribute of pkgs such as hello or python3Packages.flask`);
  }
  return `(fromPkgs ${nixString(entry)})`;
}

/** The text of an image.nix calling strata's streamLayeredImage. */
export async function renderNixImage(spec: NixImageSpec): Promise<string> {
  if (spec.name === '') throw new StrataError('--name must not be empty');
  const maxLayers = spec.maxLayers ?? DEFAULT_MAX_LAYERS;
  if (!(Number.isInteger(maxLayers) && maxLayers >= 2)) throw new StrataError(`--max-layers ${maxLayers}: expected a whole number, 2 or more`);
  const config = spec.config ?? '{}';
  let parsed: unknown;
  try {
    parsed = JSON.parse(config);
  } catch {
    throw new StrataError('--config: expected JSON text such as \'{"Cmd": ["/bin/sh"]}\'');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new StrataError('--config: expected a JSON object');
  const contents = spec.contents.map((c) => contentsEntry(c, spec.storeDir));
  const strataNix = spec.strataNix === undefined ? '<strata/nix>' : `(${nixString(spec.strataNix)})`;
  const { default: Handlebars } = await import('handlebars');
  const hb = Handlebars.create();
  hb.registerHelper('nix', (value: unknown) => nixString(String(value)));
  hb.registerHelper('nixComment', (value: unknown) => nixComment(String(value)));
  // Every value reaches the output through a helper in triple-stash; the
  // HTML escaping of {{...}} is never relied on, and never applied to Nix.
  const template = hb.compile(readFileSync(templatePath('image.nix.hbs'), 'utf8'), { noEscape: true, strict: true });
  return template({ name: spec.name, tag: spec.tag, contents, config, maxLayers, strataNix });
}
