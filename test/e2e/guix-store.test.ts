/**
 * strata on a Guix-style store: a store at /gnu/store made by Nix with its
 * own state directory (the Guix daemon is a fork of Nix's and writes the
 * same registration files), queried through a fake `guix` on PATH that
 * answers `guix gc -R` and `guix gc --references` with nix-store. The image
 * is made with exactly the argv (strata argv) that (strata images)' gexp
 * passes, computed by Guile from guix/strata/argv.scm.
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';

import { strata } from '../helpers/cli.js';
import { FIXTURE_NIX, NIX_CONFIG, REPO_ROOT, runTool, skopeoInspect, tmpDir, unpackAndRun } from '../helpers/store.js';

const GNU_STORE = '/gnu/store';

let env: NodeJS.ProcessEnv;
let app: string;
let registration: string;
let logFile: string;

const lines = (s: string): string[] => s.split('\n').filter((l) => l !== '');
const nixStore = (args: string[]): string => runTool('nix-store', args, { env }).stdout;

function ok(args: string[]): string {
  const r = strata(args, { env });
  assert.equal(r.status, 0, `strata ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** Build `attr` of test/fixtures/store.nix into /gnu/store. */
function buildGnu(attr: string): string {
  for (let attempt = 1; ; attempt++) {
    const r = runTool('nix-build', [FIXTURE_NIX, '-A', attr, '--no-out-link'], { env, allowFailure: true });
    if (r.status === 0) {
      const path = lines(r.stdout).pop()!;
      assert.ok(path.startsWith(GNU_STORE + '/'), path);
      return path;
    }
    // Nix without build users sometimes kills a finished builder (NixOS/nix#2176).
    if (attempt < 3 && /failed due to signal 9/.test(r.stderr)) continue;
    throw new Error(`nix-build -A ${attr} (NIX_STORE_DIR=/gnu/store): ${r.stderr}`);
  }
}

/** (strata argv)'s strata-image-arguments, called by Guile with the given keyword arguments (Scheme text). */
function gexpArgv(keywords: string): string[] {
  const program = `(use-modules (strata argv))
(for-each (lambda (a) (display a) (write-char #\\nul)) (strata-image-arguments ${keywords}))`;
  const out = runTool('guile', ['--no-auto-compile', '-L', join(REPO_ROOT, 'guix'), '-c', program]).stdout;
  return out.split('\0').slice(0, -1);
}

/** The docker-archive's layers, in order, each listed by `tar -t` (with `-v`, as `ls -l` lines). */
function layerEntries(archive: string, verbose = false): string[][] {
  const manifest = JSON.parse(runTool('tar', ['-xOf', archive, 'manifest.json']).stdout);
  return (manifest[0].Layers as string[]).map((layer) => {
    const dir = tmpDir('strata-guix-layer-');
    runTool('tar', ['-xf', archive, '-C', dir, layer]);
    return lines(runTool('tar', [verbose ? '-tvf' : '-tf', join(dir, layer)]).stdout);
  });
}

before(() => {
  const dir = tmpDir('strata-guix-store-');
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  logFile = join(dir, 'guix.log');
  // `guix gc -R PATH...` and `guix gc --references PATH`, answered by nix-store.
  writeFileSync(
    join(bin, 'guix'),
    `#!/bin/sh
echo "$*" >> '${logFile}'
[ "$1" = gc ] || { echo "fake guix: unsupported: $*" >&2; exit 2; }
case "$2" in
  -R|--requisites) shift 2; exec nix-store --query --requisites "$@" ;;
  --references) shift 2; exec nix-store --query --references "$@" ;;
esac
echo "fake guix: unsupported: $*" >&2
exit 2
`,
  );
  chmodSync(join(bin, 'guix'), 0o755);
  env = {
    ...process.env,
    PATH: `${bin}:${process.env.PATH}`,
    NIX_STORE_DIR: GNU_STORE,
    NIX_STATE_DIR: join(dir, 'state'),
    NIX_LOG_DIR: join(dir, 'log'),
    NIX_CONFIG,
  };
  app = buildGnu('app');
  registration = join(buildGnu('graphs.app'), 'registration');
});

describe('closure --store guix', () => {
  test('asks guix gc for requisites and references, and walks files for sizes', () => {
    writeFileSync(logFile, '');
    const closure = JSON.parse(ok(['closure', '--store', 'guix', app, '--json'])) as { path: string; narSize: number; references: string[] }[];
    const expected = lines(nixStore(['--query', '--requisites', app])).sort();
    assert.deepEqual(closure.map((p) => p.path), expected);
    assert.equal(expected.length, 5);
    for (const p of closure) {
      assert.ok(p.path.startsWith('/gnu/store/'));
      assert.deepEqual(p.references, lines(nixStore(['--query', '--references', p.path])).sort(), p.path);
      // The NAR size from walking the files is the one the store records.
      assert.equal(p.narSize, Number(nixStore(['--query', '--size', p.path]).trim()), p.path);
    }
    const calls = lines(readFileSync(logFile, 'utf8'));
    assert.equal(calls[0], `gc --requisites ${app}`);
    assert.equal(calls.filter((c) => c.startsWith('gc --references ')).length, expected.length);
  });

  test('without guix on PATH it says so (exit 3)', () => {
    const r = strata(['closure', '--store', 'guix', app], { env: { ...env, PATH: '/nonexistent' } });
    assert.equal(r.status, 3, r.stderr);
    assert.match(r.stderr, /guix not found/);
  });

  test('registration files for /gnu/store paths give the same closure', () => {
    const fromGuix = JSON.parse(ok(['closure', '--store', 'guix', app, '--json']));
    const fromGraph = JSON.parse(ok(['closure', '--graph', registration, '--json']));
    assert.deepEqual(fromGraph, fromGuix);
    const conf = JSON.parse(ok(['conf', '--graph', registration, '--name', 'app']));
    assert.equal(conf.store_dir, '/gnu/store');
  });
});

describe('the (strata images) gexp replayed', () => {
  test('a docker-archive whose layers start with /gnu and /gnu/store, and whose entrypoint runs', () => {
    const dir = tmpDir('strata-guix-image-');
    // What the gexp does: /tmp and the symlinks into the profile in a customisation tree...
    const customisation = join(dir, 'customisation');
    runTool('guile', ['--no-auto-compile', '-L', join(REPO_ROOT, 'guix'), '-c',
      `(use-modules (strata argv)) (make-customisation-tree "${customisation}" "${app}" #:symlinks '(("/bin" -> "bin")))`]);
    const output = join(dir, 'app-docker.tar');
    // ...then strata with (strata argv)'s arguments, the environment being the profile's search paths.
    const argv = gexpArgv(
      `#:graph "${registration}" #:output "${output}" #:name "app" #:tag "1.0" #:profile "${app}"
       #:max-layers 4 #:strategy 'popularity #:entry-point "bin/hello" #:customisation "${customisation}"
       #:environment (list "PATH=${app}/bin")
       #:config "{\\"Env\\": [\\"GREETING=hi\\"]}" #:format 'docker`,
    );
    assert.equal(argv[0], 'image');
    assert.ok(argv.includes(`--entrypoint=${app}/bin/hello`));
    assert.ok(argv.includes(`--env=PATH=${app}/bin`));
    ok(argv);

    const layers = layerEntries(output);
    assert.equal(layers.length, 4);
    for (const entries of layers.slice(0, -1)) {
      assert.deepEqual(entries.slice(0, 2).map((e) => e.replace(/^\.?\//, '').replace(/\/$/, '')), ['gnu', 'gnu/store'], entries.slice(0, 3).join(' '));
    }
    const info = skopeoInspect(output);
    assert.equal(info.Layers.length, 4);
    assert.ok(info.Env.includes('GREETING=hi'));
    assert.ok(info.Env.includes(`PATH=${app}/bin`), info.Env.join(' '));
    // The last layer: /tmp, world-writable and sticky as in 'guix pack' images, and the /bin link.
    const lastListing = layerEntries(output, true).at(-1)!;
    assert.ok(lastListing.some((l) => /^drwxrwxrwt .* \.?\/?tmp\/$/.test(l)), lastListing.join('\n'));
    assert.ok(lastListing.some((l) => l.startsWith('lrwxrwxrwx') && l.endsWith(`bin -> ${app}/bin`)), lastListing.join('\n'));

    const run = unpackAndRun(output, []);
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stdout, 'hello from strata\nthe data says hi\n');
    // The symlink of the customisation layer.
    const viaLink = unpackAndRun(output, ['/bin/hello']);
    assert.equal(viaLink.stdout, 'hello from strata\nthe data says hi\n');
  });

  test('an OCI archive with zstd layers, entry point arguments kept apart', () => {
    const dir = tmpDir('strata-guix-oci-');
    const output = join(dir, 'app-oci.tar');
    const argv = gexpArgv(
      `#:graph "${registration}" #:output "${output}" #:name "app" #:profile "${app}"
       #:entry-point "bin/sh" #:entry-point-arguments (list "-c" "echo \\"a b\\"") #:format 'oci #:compression 'zstd`,
    );
    ok(argv);
    assert.match(ok(['verify', `oci-archive:${output}`]), /^ok: /);
    const inspect = JSON.parse(ok(['inspect', `oci-archive:${output}`, '--json']));
    const config = JSON.stringify(inspect);
    assert.ok(config.includes(`"Entrypoint":["${app}/bin/sh","-c","echo \\"a b\\""]`), config.slice(0, 2000));
  });
});
