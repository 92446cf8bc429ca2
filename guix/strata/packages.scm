;;; strata --- layered container images from store closures
;;;
;;; The 'strata' package: strata's built JavaScript (dist/, with the
;;; templates and its node_modules) run by Guix's Node.js.

(define-module (strata packages)
  #:use-module (guix packages)
  #:use-module (guix gexp)
  #:use-module (guix build-system copy)
  #:use-module ((guix licenses) #:prefix license:)
  #:use-module (gnu packages node)
  #:export (strata))

(define %source-directory
  ;; The repository root: this file is guix/strata/packages.scm.
  (dirname (dirname (dirname (current-filename)))))

(define %skipped-directories
  ;; Version control, tests and their build output: not installed.
  (map (lambda (directory)
         (string-append %source-directory "/" directory))
       '(".git" "build-test" "test" "bench" ".ci")))

(define (strata-file? file stat)
  "Return true unless FILE is one of %SKIPPED-DIRECTORIES."
  (not (member file %skipped-directories)))

(define strata
  (package
    (name "strata")
    (version "0.1.0")
    ;; A checkout after 'npm ci && npm run build': dist/ holds the compiled
    ;; TypeScript and node_modules the JavaScript dependencies, neither of
    ;; which is under version control.
    (source (local-file %source-directory "strata-checkout"
                        #:recursive? #t
                        #:select? strata-file?))
    (build-system copy-build-system)
    (arguments
     (list
      #:install-plan
      #~'(("dist" "lib/strata/dist")
          ("templates" "lib/strata/templates")
          ("nix" "lib/strata/nix")
          ("guix" "lib/strata/guix")
          ("node_modules" "lib/strata/node_modules")
          ("package.json" "lib/strata/package.json")
          ("README.md" "share/doc/strata/README.md"))
      #:phases
      #~(modify-phases %standard-phases
          (add-before 'install 'check-built
            (lambda _
              (unless (and (file-exists? "dist/cli.js")
                           (file-exists? "node_modules"))
                (error "strata: build the checkout first (npm ci && npm run build)"))))
          (add-after 'install 'link-command
            (lambda _
              (let ((cli (string-append #$output "/lib/strata/dist/cli.js")))
                (chmod cli #o555)
                (mkdir-p (string-append #$output "/bin"))
                (symlink cli (string-append #$output "/bin/strata"))))))))
    ;; dist/cli.js starts with '#!/usr/bin/env node': the 'patch-shebangs'
    ;; phase makes it name this node.
    (inputs (list node-lts))
    (home-page "https://github.com/strata/strata")
    (synopsis "Layered container images from Nix and Guix store closures")
    (description
     "strata turns the closure of store items into a layered container
image: it groups store items into layers by popularity, as nixpkgs'
@code{streamLayeredImage} does, and writes a docker-archive, an OCI layout
or archive, or pushes the image to a registry, sending only the layers it
lacks.")
    (license license:expat)))
