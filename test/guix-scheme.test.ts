/**
 * The Guix channel (guix/) and `strata render guix` without Guix: Guile
 * reads every Scheme file (with Guix's gexp reader syntax, #~ #$ #$@ #+,
 * installed as Guix's (guix gexp) installs it), compiles the module that
 * needs no Guix module, and reads rendered image.scm files back, getting
 * exactly the strings that went in.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, test } from 'node:test';

import { schemeString } from '../src/render/guix.js';
import { strata } from './helpers/cli.js';
import { REPO_ROOT, runTool, tmpDir } from './helpers/store.js';

const GUIX_DIR = join(REPO_ROOT, 'guix');
const CHANNEL_FILE = join(REPO_ROOT, '.guix-channel');

/** Scheme that installs the gexp read syntax and defines (read-all FILE), UTF-8. */
const READER = `
(read-hash-extend #\\~ (lambda (chr port) (list 'gexp (read port))))
(read-hash-extend #\\$ (lambda (chr port)
                         (if (eqv? (peek-char port) #\\@)
                             (begin (read-char port) (list 'ungexp-splicing (read port)))
                             (list 'ungexp (read port)))))
(read-hash-extend #\\+ (lambda (chr port) (list 'ungexp-native (read port))))
(define (read-all file)
  (call-with-input-file file
    (lambda (port)
      (set-port-encoding! port "UTF-8")
      (let loop ((forms '()))
        (let ((x (read port)))
          (if (eof-object? x) (reverse forms) (loop (cons x forms))))))))
`;

function guile(program: string): string {
  return runTool('guile', ['--no-auto-compile', '-L', GUIX_DIR, '-c', READER + program], { env: { ...process.env, LC_ALL: 'C.UTF-8' } }).stdout;
}

function schemeFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.scm'))
    .map((e) => join(e.parentPath, e.name))
    .sort();
}

/** Every string in FILE's forms, in order, as UTF-8 hex (so any character comes back exactly). */
function stringsIn(file: string): string[] {
  const out = guile(`
(use-modules (rnrs bytevectors))
(define (walk x)
  (cond ((string? x)
         (for-each (lambda (b) (display (string-pad (number->string b 16) 2 #\\0)))
                   (bytevector->u8-list (string->utf8 x)))
         (newline))
        ((pair? x) (walk (car x)) (walk (cdr x)))
        ((vector? x) (for-each walk (vector->list x)))))
(for-each walk (read-all ${schemeString(file)}))`);
  return out.split('\n').slice(0, -1).map((hex) => Buffer.from(hex, 'hex').toString('utf8'));
}

describe('the Guix channel', () => {
  test('.guix-channel at the repository root names guix/, where the modules are', () => {
    const files = schemeFiles(GUIX_DIR).map((f) => f.slice(GUIX_DIR.length + 1));
    assert.deepEqual(files, ['strata/argv.scm', 'strata/images.scm', 'strata/npm-origins.scm', 'strata/npm.scm', 'strata/packages.scm']);
    const channel = guile(`(write (read-all ${schemeString(CHANNEL_FILE)}))`);
    assert.equal(channel, '((channel (version 0) (directory "guix")))');
  });

  for (const file of [CHANNEL_FILE, ...schemeFiles(GUIX_DIR)]) {
    test(`guile reads ${file.slice(REPO_ROOT.length + 1)}`, () => {
      assert.match(guile(`(display (length (read-all ${schemeString(file)})))`), /^[1-9]\d*$/);
    });
  }

  test('each module is named after its file and exports what it defines', () => {
    for (const [file, name, exported] of [
      ['strata/packages.scm', '(strata packages)', 'strata'],
      ['strata/images.scm', '(strata images)', 'layered-image'],
      ['strata/argv.scm', '(strata argv)', 'make-customisation-tree strata-image-arguments'],
      ['strata/npm-origins.scm', '(strata npm-origins)', 'strata-npm-dependencies'],
      ['strata/npm.scm', '(strata npm)', 'npm-tarball-url'],
      ['strata/packages.scm', '(strata packages)', 'make-strata'],
    ] as const) {
      const out = guile(`
(define forms (read-all ${schemeString(join(GUIX_DIR, file))}))
(define module (car forms))
(write (cadr module)) (newline)
(write (eq? (car module) 'define-module)) (newline)
(let loop ((rest (cddr module)))
  (cond ((null? rest) (display "no #:export"))
        ((eq? (car rest) #:export) (write (cadr rest)))
        (else (loop (cdr rest)))))`);
      const [moduleName, isModule, exports] = out.split('\n');
      assert.equal(moduleName, name);
      assert.equal(isModule, '#t');
      assert.ok(exports!.includes(exported), `${file} exports ${exports}`);
    }
  });

  test('layered-image takes the keywords of the issue', () => {
    const out = guile(`
(define forms (read-all ${schemeString(join(GUIX_DIR, 'strata/images.scm'))}))
(for-each (lambda (form)
            (when (and (pair? form) (eq? (car form) 'define*) (eq? (caadr form) 'layered-image))
              (write (cdadr form))))
          forms)`);
    assert.match(out, /^\(name packages-or-profile #:key /);
    for (const key of ['max-layers', 'strategy', 'entry-point', 'entry-point-arguments', 'symlinks', 'config', 'format', 'compression', 'tag']) {
      assert.match(out, new RegExp(`[( ]\\(?${key}[ )]`), key);
    }
    const text = readFileSync(join(GUIX_DIR, 'strata/images.scm'), 'utf8');
    assert.match(text, /#:references-graphs \(\("graph" ,profile\)\)/);
    assert.match(text, /\(strata-image-arguments/);
  });

  test('(strata argv) compiles and runs without Guix', () => {
    const go = join(tmpDir('strata-guile-'), 'argv.go');
    guile(`(use-modules (system base compile)) (compile-file ${schemeString(join(GUIX_DIR, 'strata/argv.scm'))} #:output-file ${schemeString(go)})`);
    const argv = guile(`(use-modules (strata argv))
(write (strata-image-arguments #:graph "g" #:output "/o" #:name "n" #:profile "/gnu/store/x-profile" #:entry-point "bin/a" #:format 'oci #:compression 'gzip))`);
    assert.equal(
      argv,
      '("image" "--graph" "g" "--store-dir" "/gnu/store" "--name" "n" "--tag" "latest" "--max-layers" "100" "--strategy" "shared" "--no-cache" "--entrypoint=/gnu/store/x-profile/bin/a" "--to" "oci-archive:/o" "--compression" "gzip")',
    );
  });
});

describe('the modules the build of layered-image imports', () => {
  // What (guix modules)' source-module-closure computes for images.scm's
  // with-imported-modules, here without Guix: from the roots, follow the
  // #:use-module and #:autoload clauses of each module's define-module, keeping
  // only the modules #:select? accepts (guix-module-name?, (guix ...) and
  // (gnu ...), when it is not given). Guix's own modules are not here to read:
  // they count as selected, without their dependencies.
  function importedModules(): { closure: string[]; used: string[] } {
    const out = guile(`
(use-modules (ice-9 match) (srfi srfi-1) (srfi srfi-26))
(define forms (read-all ${schemeString(join(GUIX_DIR, 'strata/images.scm'))}))
(define (find-form head x)
  (cond ((and (pair? x) (eq? (car x) head)) x)
        ((pair? x) (or (find-form head (car x)) (find-form head (cdr x))))
        (else #f)))
(define imported (find-form 'with-imported-modules forms))
(define call (find-form 'source-module-closure imported))
(define roots (match (cadr call) (('quote roots) roots)))
;; Guix's default #:select?.
(define (guix-module-name? name)
  (match name ((or ('guix _ ...) ('gnu _ ...)) #t) (_ #f)))
(define select-expression
  (match (memq #:select? call) ((_ expression . _) expression) (#f 'guix-module-name?)))
;; A predicate named by images.scm is defined there: evaluate its definition.
(for-each (lambda (form)
            (match form
              (('define ((? (cut eq? <> select-expression)) . _) . _) (eval form (current-module)))
              (('define (? (cut eq? <> select-expression)) _) (eval form (current-module)))
              (_ #f)))
          forms)
(define select? (eval select-expression (current-module)))
(define (dependencies module)
  (let ((file (search-path (list ${schemeString(GUIX_DIR)})
                           (string-append (string-join (map symbol->string module) "/") ".scm"))))
    (if (not file)
        '()
        (match (car (read-all file))
          (('define-module _ clauses ...)
           (let loop ((clauses clauses) (result '()))
             (match clauses
               (() (reverse result))
               ((#:use-module ((? symbol? head) . tail) . rest)
                (loop rest (cons (cons head tail) result)))
               ((#:use-module (module . _) . rest) (loop rest (cons module result)))
               ((#:autoload module _ . rest) (loop rest (cons module result)))
               ((_ . rest) (loop rest result)))))))))
(define closure
  (let loop ((modules roots) (result '()))
    (match modules
      (() (reverse result))
      ((module . rest)
       (cond ((member module result) (loop rest result))
             ((select? module) (loop (append (dependencies module) rest) (cons module result)))
             (else (loop rest result)))))))
(write closure) (newline)
(write (cdr (find-form 'use-modules (caddr imported))))`);
    const [closure, used] = out.split('\n') as [string, string];
    const names = (list: string) => [...list.matchAll(/\([^()]*\)/g)].map((m) => m[0]);
    return { closure: names(closure), used: names(used) };
  }

  test('(strata argv) is in the closure, with nothing else of the channel', () => {
    const { closure } = importedModules();
    assert.ok(closure.includes('(strata argv)'), closure.join(' '));
    assert.deepEqual(closure.filter((m) => m.startsWith('(strata ')), ['(strata argv)']);
    assert.ok(closure.includes('(guix build utils)') && closure.includes('(guix search-paths)'), closure.join(' '));
  });

  test('every module the gexp uses is imported or Guile\'s own', () => {
    const { closure, used } = importedModules();
    assert.ok(used.length >= 4, used.join(' '));
    for (const module of used.filter((m) => !closure.includes(m))) {
      const found = runTool('guile', ['--no-auto-compile', '-c', `(display (%search-load-path ${schemeString(module.slice(1, -1).split(' ').join('/'))}))`]).stdout;
      assert.ok(found.startsWith('/'), `${module} is neither imported nor one of Guile's`);
    }
  });

  test('the channel\'s imported modules load alone, as the builder has them', () => {
    const { closure } = importedModules();
    // imported-modules: a tree holding only the closure's files.
    const tree = tmpDir('strata-imported-modules-');
    for (const module of closure.filter((m) => m.startsWith('(strata '))) {
      const file = module.slice(1, -1).split(' ').join('/') + '.scm';
      mkdirSync(dirname(join(tree, file)), { recursive: true });
      copyFileSync(join(GUIX_DIR, file), join(tree, file));
    }
    const { GUILE_LOAD_PATH: _path, GUILE_LOAD_COMPILED_PATH: _compiled, ...env } = process.env;
    const argv = runTool('guile', ['--no-auto-compile', '-L', tree, '-c', `(use-modules (strata argv))
(write (strata-image-arguments #:graph "graph" #:output "/o" #:name "n" #:profile "/gnu/store/x-profile"))`], { env }).stdout;
    assert.match(argv, /^\("image" "--graph" "graph" .* "--to" "docker-archive:\/o"\)$/);
  });
});

describe('the npm origins of the strata package', () => {
  const ORIGINS_SCRIPT = join(REPO_ROOT, 'scripts/guix-npm-origins.mjs');
  const runScript = (script: string, args: string[]) => runTool(process.execPath, [script, ...args], { allowFailure: true });
  // npm's cpu of a Linux package -> the Guix system; others (darwin, win32, s390x...) are left out.
  const guixSystem: Record<string, string> = {
    x64: 'x86_64-linux', arm64: 'aarch64-linux', arm: 'armhf-linux', ppc64: 'powerpc64le-linux', riscv64: 'riscv64-linux', mips64el: 'mips64el-linux',
  };

  /** The registry npm installs from here, with one trailing slash; never written in the repository. */
  const registry = runTool('npm', ['config', 'get', 'registry']).stdout.trim().replace(/\/*$/, '/');

  /**
   * The entries of strata-npm-dependencies as guile reads them, one a line:
   * (DIRECTORY BUILD-ONLY? SYSTEMS METHOD URI URL FILE-NAME HASH), URL being
   * what URI gives with (strata npm) for npm's configured registry.
   */
  function originEntries(): string[] {
    const out = guile(`
(use-modules (ice-9 match) (strata npm))
(define forms (read-all ${schemeString(join(GUIX_DIR, 'strata/npm-origins.scm'))}))
(define (field origin name) (cadr (assq name (cdr origin))))
(define registry ${schemeString(registry)})
(for-each (lambda (entry)
            (let ((origin (list-ref entry 4)))
              (write (list (list-ref entry 1) (list-ref entry 2) (list-ref entry 3)
                           (field origin 'method) (field origin 'uri)
                           (eval (field origin 'uri) (current-module))
                           (field origin 'file-name) (field origin 'hash)))
              (newline)))
          (match (list-ref forms 1)
            (('define ('strata-npm-dependencies 'registry) docstring ('list . entries)) entries)))`);
    return out.trim().split('\n');
  }

  test('guix/strata/npm-origins.scm is what package-lock.json gives', () => {
    const r = runScript(ORIGINS_SCRIPT, ['--check']);
    assert.equal(r.status, 0, r.stderr);
  });

  test('a stale file is refused, and regenerating it gives the same bytes', () => {
    // The script finds package-lock.json and the .scm next to itself: a copy of the tree.
    const root = tmpDir('strata-npm-origins-');
    mkdirSync(join(root, 'scripts'));
    mkdirSync(join(root, 'guix/strata'), { recursive: true });
    copyFileSync(ORIGINS_SCRIPT, join(root, 'scripts/guix-npm-origins.mjs'));
    copyFileSync(join(REPO_ROOT, 'package-lock.json'), join(root, 'package-lock.json'));
    const script = join(root, 'scripts/guix-npm-origins.mjs');
    const committed = readFileSync(join(GUIX_DIR, 'strata/npm-origins.scm'), 'utf8');
    writeFileSync(join(root, 'guix/strata/npm-origins.scm'), committed.replace(' sha512))))', ' sha256))))'));
    const stale = runScript(script, ['--check']);
    assert.equal(stale.status, 1);
    assert.match(stale.stderr, /npm-origins\.scm is not what package-lock\.json gives; run node scripts\/guix-npm-origins\.mjs/);
    assert.equal(runScript(script, []).status, 0);
    assert.equal(readFileSync(join(root, 'guix/strata/npm-origins.scm'), 'utf8'), committed);
    const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8'));
    lock.packages['node_modules/execa'].integrity = 'sha1-2jmj7l5rSw0yVb/vlWAYkK/YBwk=';
    writeFileSync(join(root, 'package-lock.json'), JSON.stringify(lock));
    const weak = runScript(script, []);
    assert.equal(weak.status, 1);
    assert.match(weak.stderr, /node_modules\/execa has no sha512 integrity; run npm install to record one/);
    // A `resolved` URL is accepted when it is a registry's tarball of the entry, whatever the registry.
    const resolvedLock = JSON.parse(readFileSync(join(REPO_ROOT, 'package-lock.json'), 'utf8'));
    const yargs = resolvedLock.packages['node_modules/yargs'];
    yargs.resolved = `${registry}yargs/-/yargs-${yargs.version}.tgz`;
    writeFileSync(join(root, 'package-lock.json'), JSON.stringify(resolvedLock));
    assert.equal(runScript(script, []).status, 0);
    assert.equal(readFileSync(join(root, 'guix/strata/npm-origins.scm'), 'utf8'), committed);
    yargs.resolved = 'https://example.org/yargs.tgz';
    writeFileSync(join(root, 'package-lock.json'), JSON.stringify(resolvedLock));
    const elsewhere = runScript(script, []);
    assert.equal(elsewhere.status, 1);
    assert.match(elsewhere.stderr, /node_modules\/yargs resolves to https:\/\/example\.org\/yargs\.tgz, not a registry's yargs\/-\/yargs-[\d.]+\.tgz/);
  });

  test('guile reads one origin per installed package, pinned by the lock\'s sha512', () => {
    const entries = originEntries();
    const lock = JSON.parse(readFileSync(join(REPO_ROOT, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { version: string; integrity: string; dev?: boolean; os?: string[]; cpu?: string[] }>;
    };
    const expected = Object.entries(lock.packages).filter(
      ([dir, p]) => dir !== '' && (p.os === undefined || p.os.includes('linux')) && (p.cpu === undefined || guixSystem[p.cpu[0]!] !== undefined),
    );
    assert.equal(entries.length, expected.length);
    for (const [i, [dir, p]] of expected.entries()) {
      const name = dir.slice(dir.lastIndexOf('node_modules/') + 'node_modules/'.length);
      const systems = p.cpu === undefined ? '#t' : `(quote ("${guixSystem[p.cpu[0]!]}"))`;
      // npm's own tarball URL: REGISTRY/NAME/-/UNSCOPED-NAME-VERSION.tgz.
      const url = `${registry}${name}/-/${name.replace(/^@[^/]+\//, '')}-${p.version}.tgz`;
      assert.equal(
        entries[i],
        `("${dir}" ${p.dev ? '#t' : '#f'} ${systems} url-fetch (npm-tarball-url registry "${name}" "${p.version}") "${url}" ` +
          `"npm-${name.replace(/^@/, '').replace('/', '-')}-${p.version}.tgz" (content-hash (base64 "${p.integrity.replace(/^sha512-/, '')}") sha512))`,
      );
    }
    // The runtime dependencies are installed, the compiler and type declarations are not.
    assert.ok(entries.some((l) => l.startsWith('("node_modules/zstd-napi" #f #t ')));
    assert.ok(entries.some((l) => l.startsWith('("node_modules/typescript" #t #t ')));
  });

  // Downloaded once from the npm registry (reachable wherever npm install works), kept between runs.
  const TARBALLS = process.env.STRATA_NPM_TARBALLS ?? join(homedir(), '.cache', 'strata-test', 'npm-tarballs');

  test('every tarball matches its origin hash', () => {
    const r = runScript(ORIGINS_SCRIPT, ['--verify', TARBALLS]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^guix-npm-origins: \d+ tarballs match their origin hashes/);
  });

  test('the URLs derived are the ones npm itself gives, scoped or not', () => {
    const urls = new Map(originEntries().map((l) => [/^\("([^"]+)"/.exec(l)![1]!, / "([^" ]+\.tgz)" "npm-/.exec(l)![1]!]));
    for (const dir of ['node_modules/@types/node', 'node_modules/yargs']) {
      const lock = JSON.parse(readFileSync(join(REPO_ROOT, 'package-lock.json'), 'utf8'));
      const spec = `${dir.slice('node_modules/'.length)}@${lock.packages[dir].version}`;
      assert.equal(urls.get(dir), runTool('npm', ['view', spec, 'dist.tarball']).stdout.trim(), spec);
    }
  });

  test('the package\'s phases replayed: only these tarballs compile strata and build the zstd addon', () => {
    const system = guixSystem[process.arch]!;
    const src = tmpDir('strata-guix-build-');
    // The source as (strata packages) selects it from a checkout.
    runTool('bash', ['-c', 'tar -c --exclude=./.git --exclude=./node_modules --exclude=./dist --exclude=./build-test --exclude=./test --exclude=./bench --exclude=./.ci . | tar -x -C "$1"', 'copy', src], { cwd: REPO_ROOT });
    const buildOnly: string[] = [];
    for (const line of originEntries()) {
      const [, dir, flag, systems, fileName] = /^\("([^"]+)" (#t|#f) (#t|\(quote \([^)]*\)\)) .* "(npm-[^"]+\.tgz)" \(content-hash/.exec(line)!;
      if (systems !== '#t' && !systems!.includes(`"${system}"`)) continue;
      if (flag === '#t') buildOnly.push(dir!);
      // 'unpack-npm-dependencies; --verify keeps each tarball under its origin's file name.
      mkdirSync(join(src, dir!), { recursive: true });
      runTool('tar', ['-xzf', join(TARBALLS, fileName!), '-C', join(src, dir!), '--strip-components=1']);
    }
    // 'build, against this machine's node as the package builds against node-lts.
    const env = { ...process.env, HOME: src };
    const prefix = dirname(dirname(process.execPath));
    runTool(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json'], { cwd: src, env });
    runTool(process.execPath, [join(prefix, 'lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js'), 'rebuild', '--directory=node_modules/zstd-napi', `--nodedir=${prefix}`], { cwd: src, env });
    // 'install drops what only the build needs; what is left runs strata and zstd.
    for (const dir of buildOnly) rmSync(join(src, dir), { recursive: true });
    assert.ok(buildOnly.includes('node_modules/typescript'), buildOnly.join(' '));
    assert.equal(runTool(process.execPath, ['dist/cli.js', '--version'], { cwd: src }).stdout, '0.1.0\n');
    const roundTrip = `
import { compressor, decompressor } from './dist/image/compression.js';
const input = Buffer.from('strata '.repeat(10000));
const z = compressor('zstd'); const chunks = []; z.on('data', (c) => chunks.push(c));
z.end(input); await new Promise((r) => z.on('end', r));
const compressed = Buffer.concat(chunks);
const d = decompressor('zstd'); const out = []; d.on('data', (c) => out.push(c));
d.end(compressed); await new Promise((r) => d.on('end', r));
console.log(compressed.readUInt32LE(0).toString(16), compressed.length < input.length, Buffer.concat(out).equals(input));`;
    assert.equal(runTool(process.execPath, ['--input-type=module', '-e', roundTrip], { cwd: src }).stdout, 'fd2fb528 true true\n');
  });

  test('(strata packages) runs the phases replayed above', () => {
    const text = readFileSync(join(GUIX_DIR, 'strata/packages.scm'), 'utf8');
    assert.match(text, /#:use-module \(strata npm-origins\)/);
    assert.match(text, /"tar" "-xzf" tarball "-C" directory\s+"--strip-components=1"/);
    assert.match(text, /"node" "node_modules\/typescript\/bin\/tsc"\s+"-p" "tsconfig.json"/);
    assert.match(text, /"rebuild" "--directory=node_modules\/zstd-napi"/);
    assert.doesNotMatch(text, /npm ci && npm run build/);
    // The registry is Guix's npm importer's unless the user passes one.
    const registry = guile(`(use-modules (ice-9 match))
(define forms (read-all ${schemeString(join(GUIX_DIR, 'strata/packages.scm'))}))
(write (member '((guix import npm-binary) #:select (%npm-registry)) (car forms)))
(for-each (match-lambda
            (('define* ('make-strata . formals) docstring ('define name value) . _)
             (write (list formals name value)))
            (_ #f))
          forms)`);
    assert.match(registry, /^\(\(\(guix import npm-binary\) #:select \(%npm-registry\)\) /);
    assert.match(registry, /\(\(#:key \(npm-registry \(%npm-registry\)\)\) all-dependencies \(strata-npm-dependencies npm-registry\)\)$/);
  });
});

describe('strata render guix', () => {
  const nasty = [
    'quote " and backslash \\ and \\" both',
    'new\nline, tab\t, CR\r',
    '\\',
    '"',
    ') (display "injected") (',
    '#t ; comment #| block |#',
    'unicode: café 日本 😀',
    '\\x41; not an escape',
  ];

  test('every user string comes back exactly from guile', () => {
    const out = join(tmpDir('strata-render-'), 'image.scm');
    const args = [
      'render', 'guix',
      '--name', nasty[0]!,
      '--packages', nasty[1]!, nasty[2]!, 'hello',
      '--tag', nasty[3]!,
      '--entry-point', nasty[4]!,
      `--entry-point-argument=${nasty[5]!}`, `--entry-point-argument=${nasty[6]!}`,
      '--symlink', `/bin=${nasty[7]!}`,
      '--config', JSON.stringify({ Env: [nasty.join('|')] }),
      '-o', out,
    ];
    const r = strata(args);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(stringsIn(out), [
      nasty[0], nasty[1], nasty[2], 'hello', nasty[3], nasty[4], nasty[5], nasty[6], '/bin', nasty[7],
      JSON.stringify({ Env: [nasty.join('|')] }),
    ]);
    // One expression after use-modules: the layered-image call, with its keywords.
    const shape = guile(`(define forms (read-all ${schemeString(out)}))
(write (length forms)) (newline) (write (car (cadr forms))) (newline)
(write (filter keyword? (cadr forms)))`);
    assert.equal(shape, '2\nlayered-image\n(#:tag #:max-layers #:strategy #:entry-point #:entry-point-arguments #:symlinks #:config #:format)');
  });

  test('stdout, OCI with compression, and the minimal form', () => {
    const r = strata(['render', 'guix', '--name', 'app', '--packages', 'guile', '--format', 'oci', '--compression', 'zstd']);
    assert.equal(r.status, 0, r.stderr);
    const file = join(tmpDir('strata-render-'), 'image.scm');
    writeFileSync(file, r.stdout);
    assert.match(r.stdout, /#:compression 'zstd/);
    assert.match(r.stdout, /#:format 'oci\)/);
    assert.deepEqual(stringsIn(file), ['app', 'guile', 'latest']);
  });

  test('specifications with an output or a version reach Guix as guix install takes them', () => {
    // specification->package takes NAME[@VERSION] only (gnu/packages.scm):
    // "glibc:debug" would be an unknown package. specifications->manifest
    // takes NAME[@VERSION][:OUTPUT], and layered-image takes a manifest.
    const r = strata(['render', 'guix', '--name', 'app', '--packages', 'glibc:debug', 'guile@3.0', 'coreutils']);
    assert.equal(r.status, 0, r.stderr);
    const file = join(tmpDir('strata-render-'), 'image.scm');
    writeFileSync(file, r.stdout);
    const packages = guile(`(write (caddr (cadr (read-all ${schemeString(file)}))))`);
    assert.equal(packages, '(specifications->manifest (list "glibc:debug" "guile@3.0" "coreutils"))');
    const images = readFileSync(join(GUIX_DIR, 'strata/images.scm'), 'utf8');
    assert.match(images, /\(\(manifest\? packages-or-profile\)/);
  });

  test('--strategy size groups as guix pack --max-layers does', () => {
    const r = strata(['render', 'guix', '--name', 'app', '--packages', 'guile', '--strategy', 'size']);
    assert.equal(r.status, 0, r.stderr);
    const file = join(tmpDir('strata-render-'), 'image.scm');
    writeFileSync(file, r.stdout);
    const strategy = guile(`(let loop ((rest (cadr (read-all ${schemeString(file)}))))
  (if (eq? (car rest) #:strategy) (write (cadr rest)) (loop (cdr rest))))`);
    assert.equal(strategy, '(quote size)');
  });

  test('bad input is refused', () => {
    for (const [args, message] of [
      [['--compression', 'gzip'], /--compression needs --format oci/],
      [['--config', '{'], /--config: expected JSON/],
      [['--symlink', 'bin=bin'], /absolute/],
      [['--max-layers', '0'], /--max-layers 0/],
      [['--strategy', 'largest'], /Argument: strategy, Given: "largest"/],
    ] as const) {
      const r = strata(['render', 'guix', '--name', 'a', '--packages', 'p', ...args]);
      assert.notEqual(r.status, 0);
      assert.match(r.stderr, message);
    }
  });

  test('schemeString escapes backslash and double quote only', () => {
    assert.equal(schemeString('a"b\\c\nd'), '"a\\"b\\\\c\nd"');
  });
});
