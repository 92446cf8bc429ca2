import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { strata, strataOk } from '../helpers/cli.js';
import { buildFixture, runTool, tmpDir, unpackImage } from '../helpers/store.js';

// Ownership and permission rules (--perms, conf.json's `perms`) applied as
// layers are packed, without fakeroot, as nix2container's perms are.

let app: string;
let work: string;
let tree: string;
// A private digest cache, so cached digests of earlier runs are part of the test.
let env: NodeJS.ProcessEnv;
const run = (args: string[]) => strataOk(args, { env });

let RULES: Record<string, unknown>[];
before(() => {
  app = buildFixture('app');
  work = tmpDir('strata-perms-');
  env = { ...process.env, XDG_CACHE_HOME: join(work, 'cache') };
  tree = join(work, 'root');
  mkdirSync(join(tree, 'etc'), { recursive: true });
  mkdirSync(join(tree, 'home', 'app'), { recursive: true });
  writeFileSync(join(tree, 'etc', 'passwd'), 'root:x:0:0::/root:/bin/sh\napp:x:1000:100::/home/app:/bin/sh\n');
  writeFileSync(join(tree, 'etc', 'shadow'), 'root:!::::::\n');
  writeFileSync(join(tree, 'home', 'app', '.profile'), 'export A=1\n');
  RULES = [
    // The app's binary: only its owner may run it, and the owner is app.
    { path: app, regex: '/bin/hello$', mode: '0700', uid: 1000, gid: 100, uname: 'app', gname: 'users' },
    // Everything under share/: writable by the owner (the execute bits of directories stay).
    { path: `${app}/share`, orMode: '0200' },
    // The customisation tree: the home directory to app (numeric ids only), shadow unreadable.
    { path: tree, regex: '^/home/app', uid: 1000, gid: 100 },
    { path: tree, regex: '^/etc/shadow$', mode: '0640', gid: 42, gname: 'shadow' },
    // A later rule wins: mode first, then orMode.
    { path: tree, regex: '^/home/app/\\.profile$', mode: '0400', orMode: '0020' },
  ];
});

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** `tar -xOf ARCHIVE LAYER | tar -tv --numeric-owner` for each layer.tar member, keyed by member name. */
function layerListings(archive: string): Map<string, string[]> {
  const manifest = JSON.parse(runTool('tar', ['-xOf', archive, 'manifest.json']).stdout);
  const listings = new Map<string, string[]>();
  for (const layer of manifest[0].Layers as string[]) {
    const listing = runTool('bash', ['-c', 'set -o pipefail; tar -xOf "$1" "$2" | tar -tv --numeric-owner', '-', archive, layer]).stdout;
    listings.set(layer, listing.split('\n').filter(Boolean));
  }
  return listings;
}

/** The `tar -tv` line of `name` in any layer: [mode string, "uid/gid"]. */
function entry(listings: Map<string, string[]>, name: string): [string, string] {
  for (const lines of listings.values()) {
    const line = lines.find((l) => l.endsWith(` ${name}`) || l.endsWith(` ${name}/`));
    if (line) {
      const [mode, owner] = line.split(/\s+/);
      return [mode!, owner!];
    }
  }
  throw new Error(`${name}: in no layer`);
}

test('rules set modes and owners in store layers and the customisation tree: tar -tv and the unpacked rootfs', () => {
  const out = join(work, 'perms.tar');
  run(['image', app, '--name', 'perms', '--tag', '1', '--customisation', tree, '--perms', JSON.stringify(RULES), '-o', out]);
  const listings = layerListings(out);
  assert.deepEqual(entry(listings, `${app}/bin/hello`), ['-rwx------', '1000/100']);
  assert.deepEqual(entry(listings, `${app}/share/app/libs`), ['-rw-r--r--', '0/0']);
  assert.deepEqual(entry(listings, `${app}/share/app`), ['drwxr-xr-x', '0/0']);
  assert.deepEqual(entry(listings, `${app}/bin`), ['dr-xr-xr-x', '0/0'], 'no rule for bin/ itself');
  assert.deepEqual(entry(listings, 'home/app'), ['drwxr-xr-x', '1000/100']);
  assert.deepEqual(entry(listings, 'home'), ['drwxr-xr-x', '0/0']);
  assert.deepEqual(entry(listings, 'etc/shadow'), ['-rw-r-----', '0/42']);
  assert.deepEqual(entry(listings, 'etc/passwd'), ['-rw-r--r--', '0/0']);
  assert.deepEqual(entry(listings, 'home/app/.profile'), ['-r---w----', '1000/100']);
  // Names: given with the ids, or cleared when only ids are (GNU tar would map a name back to its owner).
  const named = runTool('bash', ['-c', `set -o pipefail; tar -xOf "$1" --wildcards '*/layer.tar' | tar -tv --ignore-zeros`, '-', out]).stdout;
  assert.match(named, new RegExp(`-rwx------ app/users .* ${app}/bin/hello\\n`));
  assert.match(named, /-rw-r----- root\/shadow .* etc\/shadow\n/);
  assert.match(named, /drwxr-xr-x 1000\/100 .* home\/app\/\n/);

  const { rootfs } = unpackImage(out);
  const stat = (path: string): [number, number, number] => {
    const st = statSync(join(rootfs, path));
    return [st.mode & 0o7777, st.uid, st.gid];
  };
  assert.deepEqual(stat(`${app}/bin/hello`), [0o700, 1000, 100]);
  assert.deepEqual(stat(`${app}/share/app/libs`), [0o644, 0, 0]);
  assert.deepEqual(stat('home/app'), [0o755, 1000, 100]);
  assert.deepEqual(stat('home/app/.profile'), [0o420, 1000, 100]);
  assert.deepEqual(stat('etc/shadow'), [0o640, 0, 42]);
  assert.deepEqual(stat('etc/passwd'), [0o644, 0, 0]);
});

test('only the layers rules concern change; the archive stays deterministic; conf.json carries the rules', () => {
  const plain = join(work, 'plain.tar');
  const ruled = join(work, 'ruled.tar');
  const rules = JSON.stringify([{ path: app, regex: '/bin/', mode: '0555', uid: 7 }]);
  run(['image', app, '--name', 'p', '--tag', '1', '-o', plain]);
  run(['image', app, '--name', 'p', '--tag', '1', '--perms', rules, '-o', ruled]);
  const before = [...layerListings(plain).keys()];
  const after = [...layerListings(ruled).keys()];
  assert.equal(before.length, after.length);
  const changed = before.filter((layer, i) => layer !== after[i]);
  assert.equal(changed.length, 1, 'the app layer alone');
  assert.ok(layerListings(plain).get(changed[0]!)!.some((l) => l.endsWith(`${app}/bin/hello`.slice(1))));

  // Same bytes again (cached digests included), from another directory and TZ.
  const again = join(work, 'ruled-again.tar');
  strataOk(['image', app, '--name', 'p', '--tag', '1', '--perms', rules, '-o', again], { env: { ...env, TZ: 'Asia/Kolkata' }, cwd: tree });
  assert.equal(sha256(readFileSync(again)), sha256(readFileSync(ruled)));

  // conf.json keeps the rules as an extra field; streaming it gives the same image.
  const rulesFile = join(work, 'rules.json');
  writeFileSync(rulesFile, rules);
  const conf = join(work, 'ruled.json');
  run(['conf', app, '--name', 'p', '--tag', '1', '--perms', rulesFile, '-o', conf]);
  const fields = JSON.parse(readFileSync(conf, 'utf8'));
  assert.deepEqual(fields.perms, [{ path: app, regex: '/bin/', mode: '0555', uid: 7 }]);
  assert.equal(Object.keys(fields).at(-1), 'perms');
  assert.equal(sha256(strataOk(['stream', conf, '--nixpkgs-names'], { env }).stdoutBytes), sha256(readFileSync(ruled)));
});

test('bad rules: one line naming the rule and the key, exit 2', () => {
  // Every case is in test/unit/perms.test.ts; these go through the command line.
  const cases: [unknown, string][] = [
    [['x'], '--perms: perms[0] must be an object with a path and what to set (mode, orMode, uid, gid, uname, gname)'],
    [[{ path: app, mode: '0755' }, { path: app, uid: -1 }], '--perms: perms[1].uid must be an integer from 0 to 4294967295'],
  ];
  for (const [rules, message] of cases) {
    const r = strata(['conf', app, '--perms', JSON.stringify(rules)], { env });
    assert.equal(r.status, 2, r.stderr);
    assert.equal(r.stderr, `strata: ${message}\n`);
  }
  const missingFile = strata(['conf', app, '--perms', join(work, 'nope.json')], { env });
  assert.equal(missingFile.stderr, `strata: --perms ${join(work, 'nope.json')}: cannot read (ENOENT)\n`);

  // Rules that name no layer strata packs, checked when the image is made.
  const ready = join(work, 'ready');
  mkdirSync(ready);
  writeFileSync(join(ready, 'layer.tar'), Buffer.alloc(10240));
  writeFileSync(join(ready, 'checksum'), sha256(Buffer.alloc(10240)));
  const busybox = buildFixture('busybox');
  const refused: [string[], string][] = [
    [['--perms', JSON.stringify([{ path: `${app}/nope`, mode: '0755' }])], `perms[0].path '${app}/nope' does not exist; name a store path of the image (or a path inside one) or the customisation directory`],
    [['--perms', JSON.stringify([{ path: tree, mode: '0755' }])], `perms[0].path '${tree}' is in none of the layers strata packs; name a store path of store_layers (or a path inside one) or the customisation directory`],
    [['--perms', JSON.stringify([{ path: busybox, mode: '0755' }]), '--plan', writePlan([[app]])], `perms[0].path '${busybox}' is in none of the layers strata packs; name a store path of store_layers (or a path inside one) or the customisation directory`],
    [['--customisation', ready, '--perms', JSON.stringify([{ path: ready, uid: 1 }])], `perms[0].path '${ready}': ${ready} is a ready layer.tar, which strata cannot change; set modes and owners where it is built, or give a directory tree to pack`],
  ];
  for (const [args, message] of refused) {
    const out = join(work, 'refused.tar');
    const r = strata(['image', app, ...args, '-o', out], { env });
    assert.equal(r.status, 2, r.stderr);
    assert.equal(r.stderr, `strata: ${message}\n`);
  }

  // A rule in a conf.json is checked as --perms is, naming the file.
  const conf = join(work, 'bad-perms.json');
  run(['conf', app, '-o', conf]);
  writeFileSync(conf, JSON.stringify({ ...JSON.parse(readFileSync(conf, 'utf8')), perms: [{ path: app, mode: '9' }] }));
  const r = strata(['stream', conf, '-o', join(work, 'never.tar')], { env });
  assert.equal(r.status, 2);
  assert.equal(r.stderr, `strata: ${conf}: perms[0].mode must be a string of octal digits such as "0755"; to add bits, use "orMode" (e.g. "0200" for u+w)\n`);
});

function writePlan(layers: string[][]): string {
  const file = join(work, 'plan.json');
  writeFileSync(file, JSON.stringify({ storeDir: '/nix/store', layers: layers.map((paths) => ({ paths, size: 0 })) }));
  return file;
}
