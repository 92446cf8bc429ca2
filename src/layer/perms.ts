import { lstat, realpath } from 'node:fs/promises';
import { StrataError } from '../errors.js';
import type { TarHeader } from '../tar/header.js';
import { PyInt, type PyValue } from '../util/pyjson.js';

/** A path as pathlib spells it: no repeated or trailing slashes, no "." parts (the names the script writes). */
export function pathlibForm(path: string): string {
  const parts = path.split('/').filter((part) => part !== '' && part !== '.');
  return (path.startsWith('/') ? '/' : '') + parts.join('/');
}

/**
 * Ownership and permission rules applied while layers are packed, without
 * fakeroot, as nix2container's `perms` are: a rule concerns the entries
 * under `path` (a store path of the image, or the customisation directory)
 * whose path in the image (`/nix/store/...-app/bin/app`, `/etc/passwd`)
 * `regex` matches anywhere ('' matches all). Matching rules apply in list
 * order; `mode` sets the permission bits and `orMode` adds some (octal
 * strings). Unlike nix2container, a field a rule leaves out is left as it
 * is (nix2container resets uid and gid to 0), except that a uid (gid)
 * without a uname (gname) clears the name: extractors that go by names,
 * as GNU tar does, would otherwise map the file back to the old owner.
 */
export interface PermRule {
  path: string;
  regex: string;
  mode?: string;
  orMode?: string;
  uid?: number;
  gid?: number;
  uname?: string;
  gname?: string;
}

const KEYS = ['path', 'regex', 'mode', 'orMode', 'uid', 'gid', 'uname', 'gname'] as const;
const SETS = KEYS.slice(2);

/** Parse a perms list (conf.json's `perms`, --perms); errors name the rule and key. */
export function parsePerms(value: PyValue, source: string): PermRule[] {
  const fail = (at: string, what: string): never => {
    throw new StrataError(`${source}: ${at} ${what}`);
  };
  if (!Array.isArray(value)) return fail('perms', 'must be a list of rules such as [{"path": "/nix/store/...-app", "regex": "/bin/", "mode": "0755"}]');
  return value.map((item, i): PermRule => {
    const at = `perms[${i}]`;
    if (!(item instanceof Map)) return fail(at, `must be an object with a path and what to set (${SETS.join(', ')})`);
    for (const key of item.keys()) {
      if (!(KEYS as readonly string[]).includes(key)) fail(at, `has an unknown key ${JSON.stringify(key)}; expected ${KEYS.join(', ')}`);
    }
    const str = (key: string): string | undefined => {
      const v = item.get(key);
      return v === undefined || typeof v === 'string' ? v : fail(`${at}.${key}`, 'must be a string');
    };
    const id = (key: string): number | undefined => {
      const v = item.get(key);
      if (v === undefined) return undefined;
      return v instanceof PyInt && v.value >= 0n && v.value <= 0xffffffffn ? Number(v.value) : fail(`${at}.${key}`, 'must be an integer from 0 to 4294967295');
    };
    const octal = (key: string): string | undefined => {
      const v = item.get(key);
      if (v === undefined || (typeof v === 'string' && /^[0-7]{1,4}$/.test(v))) return v;
      const hint = key === 'mode' ? '; to add bits, use "orMode" (e.g. "0200" for u+w)' : '';
      return fail(`${at}.${key}`, `must be a string of octal digits such as "0755"${hint}`);
    };
    const path = str('path');
    if (!path) return fail(`${at}.path`, 'is missing; name a store path of the image or the customisation directory');
    if (path.split('/').includes('..')) fail(`${at}.path`, `'${path}' must not go up with '..'; name the path itself`);
    const regex = str('regex') ?? '';
    try {
      new RegExp(regex, 'u');
    } catch (e) {
      fail(`${at}.regex`, `${JSON.stringify(regex)} is not a valid regular expression (${(e as Error).message.replace(/^.*: /, '')})`);
    }
    const sets = { mode: octal('mode'), orMode: octal('orMode'), uid: id('uid'), gid: id('gid'), uname: str('uname'), gname: str('gname') };
    if (Object.values(sets).every((v) => v === undefined)) fail(at, `sets nothing; give ${SETS.join(', ')}`);
    return { path, regex, ...sets };
  });
}

/** A perms list as conf.json holds it. */
export function permsToPy(rules: readonly PermRule[]): PyValue {
  return rules.map((rule) => new Map(KEYS.flatMap((k): [string, PyValue][] => {
    const v = rule[k];
    return v === undefined ? [] : [[k, typeof v === 'number' ? new PyInt(BigInt(v)) : v]];
  })));
}

/** A rule with its subtree on disk and its expression compiled. */
interface ResolvedRule {
  index: number;
  rule: PermRule;
  /** The rule's path on disk, as layers name their entries. */
  target: string;
  regex: RegExp;
  mode?: number;
  orMode?: number;
}

/** Header rewriting for the entries of one layer. */
export interface LayerPerms {
  /** `disk`: the entry's path on disk; `image`: its path in the image, which `regex` is matched against. */
  apply(header: TarHeader, disk: string, image: string): TarHeader;
  /** What the rules change, for the layer's digest cache key. */
  key: string;
  /** The first rule concerned, to name in errors. */
  first: { index: number; path: string };
}

/** The rules of an image, handed out to the layers they concern. */
export class Perms {
  private readonly claimed = new Set<ResolvedRule>();

  private constructor(private readonly rules: readonly ResolvedRule[]) {}

  /** Resolve rule paths: store paths as written, anything else (a link, a relative directory) to the file it names. */
  static async resolve(rules: readonly PermRule[], storeDir: string): Promise<Perms> {
    const resolved = await Promise.all(rules.map(async (rule, index): Promise<ResolvedRule> => {
      const missing = (): never => {
        throw new StrataError(`perms[${index}].path '${rule.path}' does not exist; name a store path of the image (or a path inside one) or the customisation directory`);
      };
      const inStore = rule.path.startsWith(storeDir + '/');
      const target = inStore ? pathlibForm(rule.path) : await realpath(rule.path).catch(missing);
      if (inStore) await lstat(target).catch(missing);
      return {
        index,
        rule,
        target,
        regex: new RegExp(rule.regex, 'u'),
        mode: rule.mode === undefined ? undefined : parseInt(rule.mode, 8),
        orMode: rule.orMode === undefined ? undefined : parseInt(rule.orMode, 8),
      };
    }));
    return new Perms(resolved);
  }

  /** The rules for a layer of the trees `roots` (paths on disk); undefined when none concerns it, the common case. */
  forLayer(roots: readonly string[]): LayerPerms | undefined {
    const mine = this.rules.filter((r) => roots.some((root) => within(r.target, root)));
    if (mine.length === 0) return undefined;
    for (const r of mine) this.claimed.add(r);
    return {
      apply(header, disk, image) {
        let h = header;
        for (const r of mine) if (within(disk, r.target) && r.regex.test(image)) h = set(h, r);
        return h;
      },
      key: JSON.stringify(mine.map((r) => [r.target, r.rule])),
      first: { index: mine[0]!.index, path: mine[0]!.rule.path },
    };
  }

  /** Fail on a rule no layer took: a typo, or a path in the base image, which strata does not repack. */
  checkClaimed(): void {
    const stray = this.rules.find((r) => !this.claimed.has(r));
    if (stray) {
      throw new StrataError(`perms[${stray.index}].path '${stray.rule.path}' is in none of the layers strata packs; name a store path of store_layers (or a path inside one) or the customisation directory`);
    }
  }
}

function set(h: TarHeader, r: ResolvedRule): TarHeader {
  const { uid, gid, uname, gname } = r.rule;
  return {
    ...h,
    mode: (r.mode ?? h.mode) | (r.orMode ?? 0),
    uid: uid ?? h.uid,
    gid: gid ?? h.gid,
    uname: uname ?? (uid === undefined ? h.uname : ''),
    gname: gname ?? (gid === undefined ? h.gname : ''),
  };
}

function within(path: string, dir: string): boolean {
  return path === dir || path.startsWith(dir + '/');
}
