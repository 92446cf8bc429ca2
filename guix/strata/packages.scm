;;; strata --- layered container images from store closures
;;;
;;; The 'strata' package, built from source: its npm dependencies are the
;;; pinned registry tarballs of (strata npm-origins), generated from
;;; package-lock.json and fetched from the registry Guix's npm importer uses
;;; unless told another; the TypeScript is compiled and the zstd-napi addon
;;; built against Guix's Node.js, which runs the result.

(define-module (strata packages)
  #:use-module (guix packages)
  #:use-module (guix gexp)
  #:use-module (guix git)
  #:use-module ((guix channels) #:select (channel-name channel-url channel-commit))
  #:use-module ((guix describe) #:select (current-channels))
  #:use-module ((guix import npm-binary) #:select (%npm-registry))
  #:use-module (guix build-system gnu)
  #:use-module ((guix licenses) #:prefix license:)
  #:use-module (gnu packages node)
  #:use-module (gnu packages python)
  #:use-module (strata npm-origins)
  #:use-module (srfi srfi-1)
  #:use-module (ice-9 match)
  #:export (make-strata
            strata))

(define %checkout
  ;; The repository root when this module is read from a checkout
  ;; ('guix build -L guix strata'; this file is guix/strata/packages.scm),
  ;; else #f: 'guix pull' installs the modules without the rest.
  (let ((file (current-filename)))
    (and file
         (string-prefix? "/" file)
         (let ((root (dirname (dirname (dirname file)))))
           (and (file-exists? (string-append root "/package-lock.json"))
                root)))))

(define %skipped-directories
  ;; What a checkout has beyond the sources: not part of the build.
  '(".git" "node_modules" "dist" "build-test" "test" "bench" ".ci"))

(define (strata-file? file stat)
  "Return true unless FILE is one of the checkout's %SKIPPED-DIRECTORIES."
  (not (any (lambda (directory)
              (string=? file (string-append %checkout "/" directory)))
            %skipped-directories)))

(define strata-source
  (cond (%checkout
         (local-file %checkout "strata-checkout"
                     #:recursive? #t
                     #:select? strata-file?))
        ;; After 'guix pull': the commit the channel was pulled at.
        ((find (lambda (channel) (eq? (channel-name channel) 'strata))
               (current-channels))
         => (lambda (channel)
              (git-checkout (url (channel-url channel))
                            (commit (channel-commit channel)))))
        (else
         (error "(strata packages): no checkout and no channel named 'strata; \
add strata to channels.scm as 'strata (see its README) or use 'guix build -L CHECKOUT/guix'"))))

(define (npm-dependencies all system)
  "Return the entries of ALL, a list as STRATA-NPM-DEPENDENCIES returns it,
that SYSTEM builds with."
  (filter (match-lambda
            ((directory build-only? systems origin)
             (or (eq? systems #t) (member system systems))))
          all))

(define (npm-systems all)
  "Return the systems the entries of ALL are for: those the TypeScript
compiler, a native executable, runs on."
  (delete-duplicates
   (append-map (match-lambda
                 ((directory build-only? (? list? systems) origin) systems)
                 (_ '()))
               all)))

(define* (make-strata #:key (npm-registry (%npm-registry)))
  "Return the strata package, its npm dependencies fetched from NPM-REGISTRY,
the base URL of an npm registry: by default the one 'guix import npm-binary'
queries.  The tarballs are pinned by their hashes, so a mirror gives the same
package."
  (define all-dependencies
    (strata-npm-dependencies npm-registry))

  (package
    (name "strata")
    (version "0.1.0")
    (source strata-source)
    (build-system gnu-build-system)
    (arguments
     (let ((dependencies (npm-dependencies all-dependencies (%current-system))))
       (list
        #:modules '((guix build gnu-build-system)
                    (guix build utils)
                    (ice-9 ftw)
                    (ice-9 match)
                    (srfi srfi-26))
        #:phases
        #~(modify-phases %standard-phases
            (add-after 'unpack 'unpack-npm-dependencies
              ;; What 'npm ci' would install, without network or scripts:
              ;; each tarball (whose top directory is 'package' or another
              ;; name) unpacked where package-lock.json puts it.
              (lambda _
                (for-each (match-lambda
                            ((directory tarball)
                             (mkdir-p directory)
                             (invoke "tar" "-xzf" tarball "-C" directory
                                     "--strip-components=1")))
                          (list #$@(map (match-lambda
                                          ((directory build-only? systems origin)
                                           #~(list #$directory #$origin)))
                                        dependencies)))))
            (delete 'configure)
            (replace 'build
              (lambda* (#:key inputs #:allow-other-keys)
                ;; node-gyp wants a writable home for its settings.
                (setenv "HOME" (getcwd))
                (invoke "node" "node_modules/typescript/bin/tsc"
                        "-p" "tsconfig.json")
                ;; zstd-napi's own install script would download a prebuilt
                ;; addon: build it from its sources with Node's node-gyp and
                ;; headers instead.
                (invoke "node"
                        (search-input-file
                         inputs
                         "/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js")
                        "rebuild" "--directory=node_modules/zstd-napi"
                        (string-append "--nodedir="
                                       (dirname (dirname
                                                 (search-input-file inputs "/bin/node")))))))
            (replace 'check
              (lambda* (#:key tests? #:allow-other-keys)
                ;; strata's test suite needs Nix, skopeo and a registry;
                ;; check that the command and the addon load.
                (when tests?
                  (invoke "node" "dist/cli.js" "--version")
                  (invoke "node" "-e" "require('zstd-napi')"))))
            (replace 'install
              (lambda _
                (let ((lib (string-append #$output "/lib/strata"))
                      (addon "node_modules/zstd-napi/build"))
                  ;; Only the addon itself: the rest of node-gyp's build
                  ;; directory names the compiler and Python.
                  (rename-file (string-append addon "/Release/binding.node")
                               "binding.node")
                  (delete-file-recursively addon)
                  (install-file "binding.node"
                                (string-append addon "/Release"))
                  (for-each (lambda (directory)
                              (delete-file-recursively directory)
                              ;; A scope such as node_modules/@typescript
                              ;; may be left empty.
                              (let ((parent (dirname directory)))
                                (when (and (string-prefix? "@" (basename parent))
                                           (file-exists? parent)
                                           (null? (scandir parent
                                                           (negate (cut member <> '("." ".."))))))
                                  (rmdir parent))))
                            '#$(filter-map (match-lambda
                                             ((directory #t systems origin) directory)
                                             (_ #f))
                                           dependencies))
                  (for-each (lambda (directory)
                              (copy-recursively directory
                                                (string-append lib "/" directory)))
                            '("dist" "templates" "nix" "guix" "node_modules"))
                  (install-file "package.json" lib)
                  (install-file "README.md"
                                (string-append #$output "/share/doc/strata"))
                  ;; dist/cli.js starts with '#!/usr/bin/env node', which
                  ;; 'patch-shebangs' turns into this package's node.
                  (chmod (string-append lib "/dist/cli.js") #o555)
                  (mkdir-p (string-append #$output "/bin"))
                  (symlink (string-append lib "/dist/cli.js")
                           (string-append #$output "/bin/strata")))))))))
    (native-inputs (list python))       ;for node-gyp
    (inputs (list node-lts))
    (supported-systems (npm-systems all-dependencies))
    (home-page "https://github.com/strata/strata")
    (synopsis "Layered container images from Nix and Guix store closures")
    (description
     "strata turns the closure of store items into a layered container
image: it groups store items into layers so that updates re-ship little, or
by popularity as nixpkgs' @code{streamLayeredImage} does, and writes a docker-archive, an OCI layout
or archive, or pushes the image to a registry, sending only the layers it
lacks.")
    (license license:expat)))

(define strata
  (make-strata))
