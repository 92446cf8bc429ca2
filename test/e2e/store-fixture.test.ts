/**
 * Proves the test infrastructure works before strata does: the fixture Nix
 * store builds with real references, the reference graph files parse, and
 * podman / skopeo / umoci + chroot accept a docker-archive (made here with
 * python3's tarfile).
 */
import assert from 'node:assert/strict';
import { lstatSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';

import {
  buildFixture,
  graphFiles,
  nixStore,
  podmanImageInspect,
  podmanLoad,
  queryReferences,
  queryRequisites,
  runTool,
  skopeoInspect,
  skopeoInspectConfig,
  skopeoInspectRaw,
  tmpDir,
  unpackAndRun,
  unpackImage,
} from '../helpers/store.js';

/**
 * The deterministic fixtures' store paths and NAR hashes on x86_64-linux.
 *
 * They are machine independent: a store path made by `builtins.derivation`
 * is a hash of the derivation (name, system, builder "/bin/sh", args and
 * the other attributes, and the input derivations' hashes, all recursively)
 * and of the store directory /nix/store, never of what the builder reads
 * from the host. The contents are written by the builder scripts alone and
 * Nix canonicalises modes and mtimes, so the NAR hashes are fixed too.
 * They change only if test/fixtures/deterministic.nix changes (or on
 * another `system`), and then the committed image hashes must change too.
 */
const DETERMINISTIC = {
  path: '/nix/store/bivms19fi7b07sj892c38637xa6ibs8s-strata-deterministic',
  narHash: 'sha256:0807mi60sycdw2xjlzvbbpgyx0wvn24nvdw28y2w0m94jghv2chw',
  narSize: 1592,
};
const DETERMINISTIC_BASE = {
  path: '/nix/store/bd2ljrdbdgvk9gamqxcxvj9i92wz7vdr-strata-deterministic-base',
  narHash: 'sha256:0zwrfaap8mgj3b4c9lkjjjxbc8kdy0b4jjhs53cc8rnzd7yjikhw',
  narSize: 1976,
};
const onX86_64Linux = process.platform === 'linux' && process.arch === 'x64';

const sorted = (xs: Iterable<string>): string[] => [...xs].sort();

/** Minimal parser of the registration text, to check the file independently of src/. */
function parseRegistration(text: string): Map<string, string[]> {
  const lines = text.split('\n');
  assert.equal(lines.pop(), '', 'registration ends with a newline');
  const graph = new Map<string, string[]>();
  for (let i = 0; i < lines.length; ) {
    const path = lines[i++]!;
    assert.match(path, /^\/nix\/store\/[0-9a-z]{32}-/);
    assert.equal(lines[i++], '', 'the deriver line is empty');
    const count = Number(lines[i++]);
    assert.ok(Number.isInteger(count), `reference count after ${path}`);
    graph.set(path, lines.slice(i, i + count));
    i += count;
  }
  return graph;
}

describe('fixture store', () => {
  test('builds every fixture', () => {
    for (const attr of ['busybox', 'data', 'lib-a', 'lib-b', 'app', 'tricky', 'deterministic', 'deterministic-base']) {
      const path = buildFixture(attr);
      assert.match(path, new RegExp(`^/nix/store/[0-9a-z]{32}-(strata-)?${attr}$`));
      assert.ok(statSync(path).isDirectory(), path);
    }
    // Cached: the same answer without building again.
    assert.equal(buildFixture('app'), buildFixture('app'));
  });

  test('app has real references: busybox, lib-a, lib-b and itself', () => {
    const app = buildFixture('app');
    const [busybox, libA, libB, data] = ['busybox', 'lib-a', 'lib-b', 'data'].map(buildFixture) as [
      string,
      string,
      string,
      string,
    ];
    assert.deepEqual(sorted(queryReferences(app)), sorted([app, busybox, libA, libB]));
    assert.deepEqual(sorted(queryReferences(libA)), sorted([libB, data]));
    assert.deepEqual(queryReferences(libB), [data]);
    assert.deepEqual(queryReferences(data), []);
    assert.deepEqual(queryReferences(busybox), []);
    assert.deepEqual(sorted(queryRequisites(app)), sorted([app, busybox, libA, libB, data]));
    assert.equal(readFileSync(join(app, 'share/app/self'), 'utf8'), `${app}\n`);
  });

  test('bin/hello runs on the host with the busybox shell', () => {
    const app = buildFixture('app');
    const busybox = buildFixture('busybox');
    assert.equal(readFileSync(join(app, 'bin/hello'), 'utf8').split('\n')[0], `#!${busybox}/bin/sh`);
    const result = runTool(join(app, 'bin/hello'), [], { env: {} });
    assert.equal(result.stdout, 'hello from strata\nthe data says hi\n');
  });

  test('the deterministic fixtures have machine independent paths and contents', { skip: !onX86_64Linux && 'x86_64-linux only' }, () => {
    for (const [attr, want] of [
      ['deterministic', DETERMINISTIC],
      ['deterministic-base', DETERMINISTIC_BASE],
    ] as const) {
      const path = buildFixture(attr);
      assert.equal(path, want.path);
      assert.equal(nixStore(['--query', '--hash', path]).trim(), want.narHash);
      assert.equal(Number(nixStore(['--query', '--size', path]).trim()), want.narSize);
    }
    assert.deepEqual(sorted(queryReferences(DETERMINISTIC.path)), sorted([DETERMINISTIC_BASE.path, DETERMINISTIC.path]));
  });

  test('tricky holds the edge cases, as Nix canonicalised them', () => {
    const t = buildFixture('tricky');
    const a = statSync(join(t, 'hardlink-a'));
    const b = statSync(join(t, 'hardlink-b'));
    assert.equal(a.ino, b.ino, 'hard links survive in the store');
    assert.equal(a.nlink, 2);
    assert.equal(statSync(join(t, 'setuid')).mode & 0o7777, 0o555, 'no setuid in the store');
    assert.equal(statSync(join(t, 'read-only-dir')).mode & 0o7777, 0o555);
    assert.equal(statSync(join(t, 'empty-file')).size, 0);
    assert.equal(statSync(join(t, 'file.txt')).mtimeMs, 1000, 'mtime 1');
    assert.equal(readlinkSync(join(t, 'absolute-link')), `${t}/file.txt`);
    assert.ok(readlinkSync(join(t, 'long-link')).length > 256);
    assert.equal(readFileSync(join(t, 'long-link'), 'utf8'), 'deep\n');
    assert.ok(lstatSync(join(t, 'link-to-dir')).isSymbolicLink());
    assert.equal(readFileSync(join(t, 'café 日本.txt'), 'utf8'), 'utf-8\n');
    assert.equal(readFileSync(join(t, `long-${'n'.repeat(141)}.txt`), 'utf8'), 'long name\n');
    assert.equal(Buffer.byteLength(`long-${'n'.repeat(141)}.txt`), 150);
  });
});

describe('reference graph files', () => {
  test('registration and .attrs.json of app agree with the store', () => {
    const app = buildFixture('app');
    const files = graphFiles('app');
    const text = readFileSync(files.registration, 'utf8');
    const graph = parseRegistration(text);
    const closure = queryRequisites(app);
    assert.deepEqual(sorted(graph.keys()), sorted(closure));
    for (const path of closure) assert.deepEqual(sorted(graph.get(path)!), sorted(queryReferences(path)), path);

    const attrs = JSON.parse(readFileSync(files.attrsJson, 'utf8'));
    assert.deepEqual(attrs.exportReferencesGraph, { closure: [app] });
    assert.equal(attrs.closure.length, closure.length);
    for (const info of attrs.closure) {
      assert.deepEqual(Object.keys(info).sort(), ['closureSize', 'narHash', 'narSize', 'path', 'references']);
      assert.deepEqual(sorted(info.references), sorted(queryReferences(info.path)));
      assert.equal(info.narHash, nixStore(['--query', '--hash', info.path]).trim());
      assert.equal(info.narSize, Number(nixStore(['--query', '--size', info.path]).trim()));
    }
    // The graph derivation's output mentions, so refers to, the whole closure.
    assert.ok(closure.every((p) => queryRequisites(files.out).includes(p)));
  });

  test('the registration text of the deterministic closure, exactly', { skip: !onX86_64Linux && 'x86_64-linux only' }, () => {
    const files = graphFiles('deterministic');
    // Paths sorted, each: path, empty deriver line, count, sorted references.
    assert.equal(
      readFileSync(files.registration, 'utf8'),
      [
        DETERMINISTIC_BASE.path,
        '',
        '0',
        DETERMINISTIC.path,
        '',
        '2',
        DETERMINISTIC_BASE.path,
        DETERMINISTIC.path,
        '',
      ].join('\n'),
    );
    const attrs = JSON.parse(readFileSync(files.attrsJson, 'utf8'));
    assert.deepEqual(attrs.closure, [
      {
        closureSize: DETERMINISTIC_BASE.narSize,
        narHash: DETERMINISTIC_BASE.narHash,
        narSize: DETERMINISTIC_BASE.narSize,
        path: DETERMINISTIC_BASE.path,
        references: [],
      },
      {
        closureSize: DETERMINISTIC_BASE.narSize + DETERMINISTIC.narSize,
        narHash: DETERMINISTIC.narHash,
        narSize: DETERMINISTIC.narSize,
        path: DETERMINISTIC.path,
        references: [DETERMINISTIC_BASE.path, DETERMINISTIC.path],
      },
    ]);
  });
});

/**
 * Writes a one-layer docker-archive holding the store paths given (and
 * /nix, /nix/store), entrypoint ENTRYPOINT with cmd ["-c", "echo ok"].
 * argv: OUT REPO_TAG ENTRYPOINT STORE_PATH...
 */
const MAKE_ARCHIVE_PY = String.raw`
import hashlib, io, json, sys, tarfile

out, repo_tag, entrypoint, store_paths = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]

def norm(info):
    info.uid = info.gid = 0
    info.uname = info.gname = ''
    info.mtime = 1
    return info

layer = io.BytesIO()
with tarfile.open(fileobj=layer, mode='w', format=tarfile.PAX_FORMAT) as tar:
    for name in ('nix', 'nix/store'):
        info = tarfile.TarInfo(name)
        info.type = tarfile.DIRTYPE
        info.mode = 0o755
        tar.addfile(norm(info))
    for path in store_paths:
        tar.add(path, arcname=path.lstrip('/'), filter=norm)
layer_bytes = layer.getvalue()
diff_id = 'sha256:' + hashlib.sha256(layer_bytes).hexdigest()

config = json.dumps({
    'architecture': 'amd64',
    'os': 'linux',
    'created': '1970-01-01T00:00:01Z',
    'config': {
        'Entrypoint': [entrypoint],
        'Cmd': ['-c', 'echo ok'],
        'Env': ['PATH=/bin'],
    },
    'rootfs': {'type': 'layers', 'diff_ids': [diff_id]},
    'history': [{'created': '1970-01-01T00:00:01Z', 'created_by': 'store-fixture.test'}],
}, sort_keys=True).encode()
config_name = hashlib.sha256(config).hexdigest() + '.json'
layer_name = diff_id[len('sha256:'):] + '/layer.tar'
manifest = json.dumps([{'Config': config_name, 'RepoTags': [repo_tag], 'Layers': [layer_name]}]).encode()

with tarfile.open(out, mode='w', format=tarfile.PAX_FORMAT) as tar:
    for name, data in ((layer_name, layer_bytes), (config_name, config), ('manifest.json', manifest)):
        info = norm(tarfile.TarInfo(name))
        info.size = len(data)
        info.mode = 0o644
        tar.addfile(info, io.BytesIO(data))
`;

function makeDockerArchive(out: string, repoTag: string, entrypoint: string, storePaths: string[]): string {
  runTool('python3', ['-c', MAKE_ARCHIVE_PY, out, repoTag, entrypoint, ...storePaths]);
  return out;
}

describe('image tools on a hand-made docker-archive', () => {
  const busyboxArchive = (): { archive: string; busybox: string } => {
    const busybox = buildFixture('busybox');
    const archive = join(tmpDir('strata-archive-'), 'busybox.tar');
    makeDockerArchive(archive, 'strata-test:latest', `${busybox}/bin/sh`, [busybox]);
    return { archive, busybox };
  };

  test('skopeo inspects it', () => {
    const { archive, busybox } = busyboxArchive();
    const summary = skopeoInspect(archive);
    assert.equal(summary.Architecture, 'amd64');
    assert.equal(summary.Os, 'linux');
    assert.equal(summary.Layers.length, 1);
    const manifest = skopeoInspectRaw(`docker-archive:${archive}`);
    assert.equal(manifest.schemaVersion, 2);
    assert.equal(manifest.layers.length, 1);
    const config = skopeoInspectConfig(archive);
    assert.deepEqual(config.config.Entrypoint, [`${busybox}/bin/sh`]);
    assert.deepEqual(config.rootfs.diff_ids, [manifest.layers[0].digest]);
  });

  test('podman loads it into private vfs storage', () => {
    const { archive, busybox } = busyboxArchive();
    const name = podmanLoad(archive);
    assert.equal(name, 'localhost/strata-test:latest');
    const inspect = podmanImageInspect(name);
    assert.deepEqual(inspect.Config.Entrypoint, [`${busybox}/bin/sh`]);
    assert.equal(inspect.RootFS.Layers.length, 1);
  });

  test('umoci unpacks it and chroot runs the busybox shell', () => {
    const { archive, busybox } = busyboxArchive();
    const ok = unpackAndRun(archive, [`${busybox}/bin/sh`, '-c', 'echo ok']);
    assert.deepEqual(ok, { stdout: 'ok\n', stderr: '', status: 0 });
    // No argv: the image's entrypoint and cmd.
    assert.equal(unpackAndRun(archive, []).stdout, 'ok\n');
    assert.equal(unpackAndRun(archive, [`${busybox}/bin/sh`, '-c', 'exit 3']).status, 3);
    // The image's Env is the environment inside.
    assert.equal(unpackAndRun(archive, [`${busybox}/bin/sh`, '-c', 'echo $PATH']).stdout, '/bin\n');

    const image = unpackImage(archive);
    assert.ok(statSync(join(image.rootfs, busybox, 'bin/busybox')).isFile());
    assert.equal(readlinkSync(join(image.rootfs, busybox, 'bin/sh')), 'busybox');
  });
});
