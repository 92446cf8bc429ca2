import type { TarHeader, TarType } from './header.js';
import type { Member } from './members.js';

/**
 * A layer's members as a few columns, to send to another thread: cloning
 * 10k member objects costs the receiving thread tens of milliseconds (and
 * the sender as much), a few strings and one Float64Array almost nothing.
 * Names can hold no NUL, which joins them.
 */
export interface MemberColumns {
  count: number;
  /** Header names, joined by NUL. */
  names: string;
  /** Type of each member: its character's code. */
  types: Uint8Array;
  /** Per member: 0 no entry, 1 an entry at the header's name, 2 an entry at the next of `paths`. */
  entries: Uint8Array;
  paths: string;
  /** Link names that are not empty, joined by NUL, with their members' indexes. */
  links: string;
  linkAt: Int32Array;
  /** Owner names, each once, and per member the index of its uname and gname there. */
  owners: string[];
  ownerAt: Uint32Array;
  /** Per member NUMBERS numbers: header mode, uid, gid, size, mtime, devmajor, devminor; the entry's stat mode, size, mtimeMs, ctimeMs, ino. */
  numbers: Float64Array;
  /** Pax records, with their members' indexes (read archives have them; walked files do not). */
  pax: [number, [string, string][]][];
}

const NUMBERS = 12;
const NUL = '\0';

export function toColumns(members: readonly Member[]): MemberColumns {
  const count = members.length;
  const numbers = new Float64Array(count * NUMBERS);
  const entries = new Uint8Array(count);
  const types = new Uint8Array(count);
  const ownerAt = new Uint32Array(count * 2);
  const owners = new Map<string, number>();
  // Nearly every member has the owner of the one before.
  let lastName: string | undefined;
  let last = 0;
  const owner = (name: string): number => {
    if (name !== lastName) {
      lastName = name;
      last = owners.get(name) ?? owners.set(name, owners.size).size - 1;
    }
    return last;
  };
  const names: string[] = [];
  const paths: string[] = [];
  const links: string[] = [];
  const linkAt: number[] = [];
  const pax: MemberColumns['pax'] = [];
  for (let i = 0; i < count; i++) {
    const { header: h, entry } = members[i]!;
    names.push(h.name);
    types[i] = h.type.charCodeAt(0);
    if (h.linkname !== '') {
      links.push(h.linkname);
      linkAt.push(i);
    }
    if (h.pax) pax.push([i, [...h.pax]]);
    ownerAt[2 * i] = owner(h.uname);
    ownerAt[2 * i + 1] = owner(h.gname);
    const at = i * NUMBERS;
    numbers[at] = h.mode;
    numbers[at + 1] = h.uid;
    numbers[at + 2] = h.gid;
    numbers[at + 3] = h.size;
    numbers[at + 4] = h.mtime;
    numbers[at + 5] = h.devmajor;
    numbers[at + 6] = h.devminor;
    if (entry) {
      if (entry.path === h.name) entries[i] = 1;
      else {
        entries[i] = 2;
        paths.push(entry.path);
      }
      const s = entry.stat;
      numbers[at + 7] = s.mode;
      numbers[at + 8] = s.size;
      numbers[at + 9] = s.mtimeMs;
      numbers[at + 10] = s.ctimeMs;
      numbers[at + 11] = s.ino;
    }
  }
  return {
    count,
    names: names.join(NUL),
    types,
    entries,
    paths: paths.join(NUL),
    links: links.join(NUL),
    linkAt: Int32Array.from(linkAt),
    owners: [...owners.keys()],
    ownerAt,
    numbers,
    pax,
  };
}

/** The members toColumns was given, field for field. */
export function fromColumns(c: MemberColumns): Member[] {
  const names = c.count === 0 ? [] : c.names.split(NUL);
  const paths = c.paths.split(NUL);
  const links = new Map<number, string>();
  if (c.linkAt.length > 0) c.links.split(NUL).forEach((link, k) => links.set(c.linkAt[k]!, link));
  const pax = new Map(c.pax.map(([i, records]) => [i, new Map(records)]));
  const { numbers: n, ownerAt, owners, entries, types } = c;
  const members: Member[] = new Array<Member>(c.count);
  let path = 0;
  for (let i = 0; i < c.count; i++) {
    const at = i * NUMBERS;
    const name = names[i]!;
    const header: TarHeader = {
      name,
      type: String.fromCharCode(types[i]!) as TarType,
      mode: n[at]!,
      uid: n[at + 1]!,
      gid: n[at + 2]!,
      size: n[at + 3]!,
      mtime: n[at + 4]!,
      linkname: links.get(i) ?? '',
      uname: owners[ownerAt[2 * i]!]!,
      gname: owners[ownerAt[2 * i + 1]!]!,
      devmajor: n[at + 5]!,
      devminor: n[at + 6]!,
    };
    const records = pax.get(i);
    if (records) header.pax = records;
    const kind = entries[i];
    members[i] =
      kind === 0
        ? { header }
        : { header, entry: { path: kind === 1 ? name : paths[path++]!, stat: { mode: n[at + 7]!, size: n[at + 8]!, mtimeMs: n[at + 9]!, ctimeMs: n[at + 10]!, ino: n[at + 11]! } } };
  }
  return members;
}
