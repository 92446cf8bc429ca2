import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { strataOk } from '../helpers/cli.js';
import { REPO_ROOT, nixEnv, queryRequisites, runTool, runUnpacked, skopeoInspect, tmpDir, unpackImage } from '../helpers/store.js';

// A real closure of Debian's git and perl as Nix store paths (hundreds of MB,
// thousands of files), made by scripts/debian-corpus.mjs from this machine's packages.
let git: string;
let perl: string;
let work: string;
const sha256File = (f: string): string => createHash('sha256').update(readFileSync(f)).digest('hex');

before(() => {
  const corpus = JSON.parse(
    runTool(process.execPath, [join(REPO_ROOT, 'scripts', 'debian-corpus.mjs'), '--roots', 'git,perl', '--json'], { env: nixEnv() }).stdout,
  ) as { roots: Record<string, string> };
  git = corpus.roots.git!;
  perl = corpus.roots.perl!;
  work = tmpDir('strata-corpus-');
});

test('a Debian-derived closure becomes an image whose git and perl run', () => {
  const closure = queryRequisites(git).concat(queryRequisites(perl));
  const libc = closure.find((p) => /-libc6-2/.test(p))!;
  // The dynamic loader where ELF binaries look for it; libraries through Env.
  const root = join(work, 'root');
  mkdirSync(join(root, 'lib64'), { recursive: true });
  symlinkSync(`${libc}/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2`, join(root, 'lib64', 'ld-linux-x86-64.so.2'));
  // git insists on /dev/null: a character device in the customisation layer.
  mkdirSync(join(root, 'dev'));
  runTool('mknod', ['-m', '666', join(root, 'dev', 'null'), 'c', '1', '3']);
  const libPath = [...new Set(closure)].flatMap((p) => [`${p}/lib/x86_64-linux-gnu`, `${p}/usr/lib/x86_64-linux-gnu`]).join(':');
  const out = join(work, 'corpus.tar');
  const args = ['image', git, perl, '--max-layers', '20', '--customisation', root, '--env', `LD_LIBRARY_PATH=${libPath}`, '-o', out];
  strataOk(args);
  const info = skopeoInspect(out);
  assert.equal(info.Layers.length, 20);
  // One unpacked root file system for both programs.
  const image = unpackImage(out);
  assert.match(runUnpacked(image, [`${git}/usr/bin/git`, '--version']).stdout, /^git version 2\.\d+\.\d+/);
  const perlBase = closure.find((p) => /-perl-base-/.test(p))!;
  assert.equal(runUnpacked(image, [`${perlBase}/usr/bin/perl`, '-e', 'print 6*7, "\\n"']).stdout, '42\n');
  const again = join(work, 'corpus-again.tar');
  strataOk([...args.slice(0, -1), again]);
  assert.equal(sha256File(again), sha256File(out));
});
