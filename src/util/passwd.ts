import { readFileSync } from 'node:fs';

/**
 * User and group names for ids, from /etc/passwd and /etc/group, as Python's
 * pwd/grp modules find them on a plain system ("" when there is none).
 */
export function userName(uid: number): string {
  return lookup('/etc/passwd', uid);
}

export function groupName(gid: number): string {
  return lookup('/etc/group', gid);
}

function lookup(file: string, id: number): string {
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return '';
  }
  for (const line of text.split('\n')) {
    const fields = line.split(':');
    if (fields.length >= 3 && Number(fields[2]) === id && fields[2] !== '') return fields[0]!;
  }
  return '';
}
