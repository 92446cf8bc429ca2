/**
 * The Guix channel (guix/) and `strata render guix` without Guix: Guile
 * reads every Scheme file (with Guix's gexp reader syntax, #~ #$ #$@ #+,
 * installed as Guix's (guix gexp) installs it), compiles the module that
 * needs no Guix module, and reads rendered image.scm files back, getting
 * exactly the strings that went in.
 */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';

import { schemeString } from '../src/render/guix.js';
import { strata } from './helpers/cli.js';
import { REPO_ROOT, runTool, tmpDir } from './helpers/store.js';

const GUIX_DIR = join(REPO_ROOT, 'guix');

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
    .filter((e) => e.isFile() && (e.name.endsWith('.scm') || e.name === '.guix-channel'))
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
  test('guix/.guix-channel and the modules are there', () => {
    const files = schemeFiles(GUIX_DIR).map((f) => f.slice(GUIX_DIR.length + 1));
    assert.deepEqual(files, ['.guix-channel', 'strata/argv.scm', 'strata/images.scm', 'strata/packages.scm']);
    const channel = guile(`(write (read-all ${schemeString(join(GUIX_DIR, '.guix-channel'))}))`);
    assert.equal(channel, '((channel (version 0) (directory "guix")))');
  });

  for (const file of schemeFiles(GUIX_DIR)) {
    test(`guile reads ${file.slice(REPO_ROOT.length + 1)}`, () => {
      assert.match(guile(`(display (length (read-all ${schemeString(file)})))`), /^[1-9]\d*$/);
    });
  }

  test('each module is named after its file and exports what it defines', () => {
    for (const [file, name, exported] of [
      ['strata/packages.scm', '(strata packages)', 'strata'],
      ['strata/images.scm', '(strata images)', 'layered-image'],
      ['strata/argv.scm', '(strata argv)', 'strata-image-arguments'],
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
      '("image" "--graph" "g" "--store-dir" "/gnu/store" "--name" "n" "--tag" "latest" "--max-layers" "100" "--strategy" "popularity" "--no-cache" "--entrypoint=/gnu/store/x-profile/bin/a" "--to" "oci-archive:/o" "--compression" "gzip")',
    );
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

  test('bad input is refused', () => {
    for (const [args, message] of [
      [['--compression', 'gzip'], /--compression needs --format oci/],
      [['--config', '{'], /--config: expected JSON/],
      [['--symlink', 'bin=bin'], /absolute/],
      [['--max-layers', '0'], /--max-layers 0/],
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
