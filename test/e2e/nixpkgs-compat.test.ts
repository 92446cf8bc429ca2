/**
 * strata held to nixpkgs' own bytes: docker-archives exactly as
 * pkgs/build-support/docker/stream_layered_image.py writes them, and the
 * order of pkgs/build-support/references-by-popularity/closure-graph.py.
 *
 * Every hash and order below was verified on 2026-11-24 by running those
 * two scripts of nixpkgs commit 0137840114d1444c766db37c01e96258e4edf5fb
 * (its stream_layered_image.py differs from that of commit
 * f803fb870ae4aaab597c6b1e92f50517c467671f in formatting only) under
 * CPython 3.11.7, 3.12.1 and 3.13.0 on the same inputs: all wrote exactly
 * these bytes. The tests themselves need no Python.
 *
 * The inputs are the same on every x86_64-linux machine: the deterministic
 * fixtures and store.nix's builder-written paths (data, lib-a, lib-b,
 * tricky; not busybox, a copy of the host's binary), hand-written confs,
 * and a customisation layer.tar of 10240 zero bytes (an empty archive, as
 * `tar -cf layer.tar -T /dev/null` writes it), mode 0444, owned by root:
 * its archive member takes the file's owner. Confs name the customisation
 * directory and base images relatively (the path is in the image history),
 * so strata runs in the work directory.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { strataOk } from '../helpers/cli.js';
import { buildFixture, tmpDir } from '../helpers/store.js';

const sha256 = (data: Buffer | string): string => createHash('sha256').update(data).digest('hex');

const onX86_64Linux = process.platform === 'linux' && process.arch === 'x64';
const asRoot = process.getuid?.() === 0;
const images = { skip: (!onX86_64Linux && 'x86_64-linux only') || (!asRoot && 'the customisation layer must be owned by root') };

/** The store paths the hashes were verified with. */
const STORE = {
  deterministic: '/nix/store/bivms19fi7b07sj892c38637xa6ibs8s-strata-deterministic',
  'deterministic-base': '/nix/store/bd2ljrdbdgvk9gamqxcxvj9i92wz7vdr-strata-deterministic-base',
  data: '/nix/store/q5pjhq9ayrd77l4z6gp13ijhfl882w3s-data',
  'lib-a': '/nix/store/1qbm8hxc1k1d7r5bjing7478y2xmqyf1-lib-a',
  'lib-b': '/nix/store/94jg007rmvp6dbsv1ba2kzy7vsgvfng8-lib-b',
  tricky: '/nix/store/67yqmg064rpw8z0z18a9rknc89bnlgq4-tricky',
};
const EMPTY_TAR_SHA256 = '84ff92691f909a05b224e1c56abb4864f01b4f8e3c854e4bb4c7baf1d3f6d652';

let work: string;
before(() => {
  work = tmpDir('strata-nixpkgs-compat-');
  const cust = join(work, 'cust');
  mkdirSync(cust);
  writeFileSync(join(cust, 'layer.tar'), Buffer.alloc(10240));
  chmodSync(join(cust, 'layer.tar'), 0o444);
  writeFileSync(join(cust, 'checksum'), `${EMPTY_TAR_SHA256}\n`);
});

let fixturesChecked = false;
/** Build the fixtures, failing clearly when one is not the verified path. */
function fixtures(): void {
  if (fixturesChecked) return;
  for (const [attr, path] of Object.entries(STORE)) assert.equal(buildFixture(attr), path, `fixture ${attr} changed: verify this file's hashes again`);
  fixturesChecked = true;
}

/** conf.json `name` in the work directory; `config` is JSON text, kept as written (key order, 1e+16, -0.0, 3.0). */
function writeConf(name: string, fields: Record<string, unknown>, config = '{}'): string {
  const conf = {
    architecture: 'amd64', os: 'linux', store_dir: '/nix/store', from_image: null, store_layers: [],
    customisation_layer: 'cust', repo_tag: 'strata-compat:1', created: '1970-01-01T00:00:01Z', mtime: '1970-01-01T00:00:01Z',
    uid: 0, gid: 0, uname: 'root', gname: 'root', ...fields,
  };
  writeFileSync(join(work, name), JSON.stringify(conf).replace(/}$/, `,"config":${config}}`));
  return name;
}

/** `strata stream --nixpkgs-names` in the work directory: the archive's bytes. */
function stream(conf: string, ...args: string[]): Buffer {
  fixtures();
  return strataOk(['stream', conf, '--nixpkgs-names', ...args], { cwd: work }).stdoutBytes;
}

/** sha256 of each layer.tar member's data, in archive order, read here rather than by strata. */
function layerDigests(archive: Buffer): string[] {
  const digests: string[] = [];
  for (let at = 0; at + 512 <= archive.length && archive[at] !== 0; ) {
    const name = archive.toString('latin1', at, at + 100).replace(/\0.*$/s, '');
    const size = parseInt(archive.toString('latin1', at + 124, at + 136), 8);
    if (archive[at + 156] !== 0x78 && name.endsWith('/layer.tar')) digests.push(sha256(archive.subarray(at + 512, at + 512 + size)));
    at += 512 + Math.ceil(size / 512) * 512;
  }
  return digests;
}

function assertImage(archive: Buffer, expected: { sha256: string; layers: string[] }): void {
  assert.deepEqual(layerDigests(archive), expected.layers);
  assert.equal(sha256(archive), expected.sha256);
}

// A and C are also the base images of E and F.
const A = {
  conf: () => writeConf('a.json', { store_layers: [[STORE['deterministic-base']], [STORE.deterministic]] },
    `{"Entrypoint":["${STORE.deterministic}/bin/run"],"Env":["PATH=/bin","LANG=C"]}`),
  sha256: 'fccbe2e56a36dd043d52e9b408057dc1c85783e6f98e066dd189cfb5b023ac18',
  layers: ['80e83fe41bca99acb53440c52f08a759caa71fc1eaff530b5c549c1211415590', 'bfbd0332a7d2fd480fae1d1f099e9282650b9ae6c58f56fd7a2a0e8de234cc45', EMPTY_TAR_SHA256],
};
const C = {
  conf: () => writeConf('c.json', {
    store_layers: [[STORE['deterministic-base']], [STORE.deterministic]],
    architecture: 'arm64',
    // uid as a string, a gid past the ustar field, non-ASCII and long names: pax records.
    uid: '1000', gid: 4242424242, uname: 'jürgen', gname: 'a-group-name-longer-than-32-chars',
    // Fractional seconds and offsets; an mtime before 1970 (a pax record on every entry).
    created: '2001-02-03T04:05:06.5+05:30', mtime: '1960-01-01T00:00:00.75-08:00',
  }, '{"Labels":{"ü":"日本 😀","10":"ten","2":"two"},"Env":["A=ä"],"x":[1.5,1e+16,0.1,-0.0,3.0,100000000000000000000],' +
    '"nested":{"b":{"c":[null,true,false,{}],"a":[]}}}'),
  sha256: '9ba8e4e05ce368d2523ecbc0f91ebfa84799f0fd7efc2cd300dec9966530b385',
  layers: ['3e0dbd7247373a586625d5f325b65d417d012b38c4f8dca53ce308064eb4c0f8', '6126c1063fcda385e52dcaaa6a54d1cd39cbccbf488b31f12a40ffb0c743d206', EMPTY_TAR_SHA256],
};

test('A: a layer per path, Entrypoint and Env', images, () => {
  assertImage(stream(A.conf()), A);
});

test('B: both paths in one layer in the order given, a null repo_tag, and --repo_tag / -t', images, () => {
  const conf = writeConf('b.json', { store_layers: [[STORE.deterministic, STORE['deterministic-base']]], repo_tag: null });
  const layers = ['fe753dbec47c758a64be1214847e849720933ac62e1466c3e2d4d576d151b0f9', EMPTY_TAR_SHA256];
  assertImage(stream(conf), { sha256: '196ad618e4748f42a0816580a610ea53a63614f2a8bd83c7f8bf4c3e6f10b8a2', layers });
  const override = { sha256: 'ee7c3e13e801ee27c448cbf6e80ae251393a38d73a09c9bec88714deda5d365f', layers };
  assertImage(stream(conf, '-t', 'strata-compat:override'), override);
  assertImage(stream(conf, '--repo_tag', 'strata-compat:override'), override);
});

test('C: other owners, times with fractions and offsets, a config in its own key order and number forms', images, () => {
  assertImage(stream(C.conf()), C);
});

test('D: tricky names and links, a diamond of paths, microsecond times', images, () => {
  const conf = writeConf('d.json', {
    store_layers: [[STORE.data], [STORE['lib-b'], STORE['lib-a']], [STORE.tricky]],
    created: '2024-02-29T23:59:59.999999Z', mtime: '2024-02-29T23:59:59.999999Z',
  });
  assertImage(stream(conf), {
    sha256: '586535a581535adbd6886692be464f6f249305118fc323a4307a2a091ed42baa',
    layers: [
      '8c858e20bcf16ba872e10528b8ddbbc8dd3ca9b9aa2c10291029146a9f62e999',
      'a1758979173314f4fe85a97776361e638434f6e36b70fcf14f5a94b5d69f58f0',
      '7ebcc80e5c5115d8fd153f321f12b8ebec56659a3de1ea7ca05af3f17f73b2ba',
      EMPTY_TAR_SHA256,
    ],
  });
});

test('E: from_image (A\'s archive): base layers first, base Env under the new one', images, () => {
  writeFileSync(join(work, 'a.tar'), stream(A.conf()));
  const conf = writeConf('e.json', { from_image: 'a.tar', store_layers: [[STORE.tricky]], repo_tag: 'strata-compat:e' },
    '{"Env":["LANG=C.UTF-8","X=1","PATH=/usr/bin"],"Cmd":["sh"]}');
  assertImage(stream(conf, '--repo_tag', 'strata-compat:e2'), {
    sha256: '6c6e98ae00b128faee13b345737fd6132d75faad7c993a9365e9b17bedc79ea0',
    layers: [...A.layers, '50563b19813a58d0a16f749c34c8112d812aa66fdb9f7aab5d1b3a90f257841d', EMPTY_TAR_SHA256],
  });
});

// Known differences: Python re-adds a base layer member with the pax records
// it was read with (here mtime, C's time being before 1970), and falls back
// to the conf's repo_tag when -t is empty (`args.repo_tag or ...`).
test('F: from_image whose layer members carry pax records', images, () => {
  writeFileSync(join(work, 'c.tar'), stream(C.conf()));
  const conf = writeConf('f.json', { from_image: 'c.tar', store_layers: [[STORE.data]] });
  assertImage(stream(conf), {
    sha256: 'e8ca80da45935d88e1e4a8894419f1ddcd9966b82f57730891f2c193b41a2ba9',
    layers: [...C.layers, 'cf16ab9958dc046a177db4e293354e61c92d23c1fc470fcd3ee913ab7ed5cf19', EMPTY_TAR_SHA256],
  });
});

test('G: an empty -t keeps the conf\'s repo_tag', images, () => {
  assertImage(stream(A.conf(), '-t', ''), A);
});

// Popularity: closure-graph.py's output for these graphs.

const S = '/nix/store/';
/** A store path with a 32-character hash of `h` repeated. */
const P = (h: string, name: string): string => `${S}${h.repeat(32 / h.length)}-${name}`;

/** `strata plan --format order` of a graph given as {path: [references]}, in the structured-attrs shape. */
function order(name: string, refs: Map<string, string[]>): string[] {
  const file = join(work, `${name}.graph.json`);
  writeFileSync(file, JSON.stringify({ graph: [...refs].map(([path, references]) => ({ path, narSize: 1000, references })) }));
  return strataOk(['plan', '--graph', file, '--strategy', 'popularity', '--max-layers', '100000', '--format', 'order']).stdout.split('\n').slice(0, -1);
}

test('popularity: closure-graph.py\'s own example', () => {
  const [a, b, c, d, e, f, g] = ['a', 'b', 'c', 'd', 'f', 'g', 'h'].map((h, i) => P(h, 'ABCDEFG'[i]!));
  const refs = new Map([[a, [a, b, g]], [b, [c, e]], [c, [d, e]], [d, [f]], [e, [f]], [f, [f]], [g, []]]);
  assert.deepEqual(order('example', refs), [f, e, d, c, b, g, a]);
});

test('popularity: ties by name then hash, in code point order (astral after U+FFFD)', () => {
  const names: [string, string][] = [
    ['q', 'foo-1.0'], ['p', 'foo-1.0'], ['r', 'foo'], ['s', 'foo-bar'], ['v', 'Foo'], ['w', 'é'], ['x', 'z'],
    ['y', '😀'], ['z', '\ufffd'], ['0', 'lib-2-bin'], ['1', 'lib-10-bin'],
  ];
  const root = P('9', 'root');
  const leaves = names.map(([h, n]) => P(h, n));
  const refs = new Map([[root, [root, ...leaves]], ...leaves.map((l): [string, string[]] => [l, [l]])]);
  assert.deepEqual(order('ties', refs), [
    P('v', 'Foo'), P('r', 'foo'), P('p', 'foo-1.0'), P('q', 'foo-1.0'), P('s', 'foo-bar'), P('1', 'lib-10-bin'), P('0', 'lib-2-bin'),
    P('x', 'z'), P('w', 'é'), P('z', '\ufffd'), P('y', '😀'), root,
  ]);
});

test('popularity: several roots, diamonds, self and repeated references', () => {
  const [app1, app2, tool, libX, libY, glibc] = [P('a', 'app-1'), P('b', 'app-2'), P('c', 'tool'), P('d', 'lib-x'), P('f', 'lib-y'), P('g', 'glibc-2.38')];
  const refs = new Map([
    [app1, [app1, libX, libY, libX]], [app2, [libY, app2]], [tool, []], [libX, [glibc, libX]], [libY, [glibc]], [glibc, [glibc]],
  ]);
  assert.deepEqual(order('roots', refs), [glibc, libY, libX, app1, app2, tool]);
});

test('popularity: counts past 2^53 that differ by 2 still order', () => {
  // 54 paths each referencing all later ones and both leaves; one more root reaches only the first leaf.
  const B32 = '0123456789abcdfghijklmnpqrsvwxyz';
  const path = (i: number, name: string): string => P(B32[i % 32]! + B32[Math.floor(i / 32)]!, name);
  const deep = Array.from({ length: 54 }, (_, i) => path(i, `layer${i % 5}`));
  const [x, y, r] = [path(60, 'y-later'), path(61, 'x-earlier'), path(62, 'extra-root')];
  const refs = new Map<string, string[]>(deep.map((p, i) => [p, [p, ...deep.slice(i + 1), x, y]]));
  refs.set(x, [x]).set(y, [y]).set(r, [r, x]);
  // x: 2^54 + 2, y: 2^54, equal as doubles; extra-root and layer0 tie at 1.
  const all = [...deep, x, y, r];
  const expected = [54, 55, ...Array.from({ length: 53 }, (_, i) => 53 - i), 56, 0].map((i) => all[i]);
  assert.deepEqual(order('bigint', refs), expected);
});
