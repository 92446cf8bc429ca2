import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePerms, StrataError, toPy } from '../../src/index.js';

// Ownership and permission rules (--perms, conf.json's `perms`) checked as a
// function; test/e2e/perms.test.ts applies them to real layers.

const app = '/nix/store/aaaa-app';

test('bad rules: one line naming the rule and the key, exit 2', () => {
  const cases: [unknown, string][] = [
    [{ path: app }, '--perms: perms must be a list of rules such as [{"path": "/nix/store/...-app", "regex": "/bin/", "mode": "0755"}]'],
    [['x'], '--perms: perms[0] must be an object with a path and what to set (mode, orMode, uid, gid, uname, gname)'],
    [[{ regex: '.*', mode: '0755' }], '--perms: perms[0].path is missing; name a store path of the image or the customisation directory'],
    [[{ path: `${app}/../x`, mode: '0755' }], `--perms: perms[0].path '${app}/../x' must not go up with '..'; name the path itself`],
    [[{ path: app, owner: 1 }], '--perms: perms[0] has an unknown key "owner"; expected path, regex, mode, orMode, uid, gid, uname, gname'],
    [[{ path: app }], '--perms: perms[0] sets nothing; give mode, orMode, uid, gid, uname, gname'],
    [[{ path: app, mode: 'u+w' }], '--perms: perms[0].mode must be a string of octal digits such as "0755"; to add bits, use "orMode" (e.g. "0200" for u+w)'],
    [[{ path: app, mode: 493 }], '--perms: perms[0].mode must be a string of octal digits such as "0755"; to add bits, use "orMode" (e.g. "0200" for u+w)'],
    [[{ path: app, orMode: '08' }], '--perms: perms[0].orMode must be a string of octal digits such as "0755"'],
    [[{ path: app, mode: '0755' }, { path: app, uid: -1 }], '--perms: perms[1].uid must be an integer from 0 to 4294967295'],
    [[{ path: app, gid: '100' }], '--perms: perms[0].gid must be an integer from 0 to 4294967295'],
    [[{ path: app, uname: 0 }], '--perms: perms[0].uname must be a string'],
    [[{ path: app, regex: '(', mode: '0755' }], '--perms: perms[0].regex "(" is not a valid regular expression (Unterminated group)'],
  ];
  for (const [rules, message] of cases) {
    assert.throws(() => parsePerms(toPy(rules), '--perms'), (e: unknown) => e instanceof StrataError && e.message === message && e.exitCode === 2, message);
  }
});
