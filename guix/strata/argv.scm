;;; strata --- layered container images from store closures
;;;
;;; What the build of (strata images) does before and when it runs strata:
;;; the tree of the image's last layer and strata's command line.  It is
;;; here, in a module that needs nothing but Guile, so that the gexp and
;;; strata's own tests (test/guix-*.test.ts) use the same code: the tests
;;; call these procedures with Guile and run strata with their result on a
;;; real /gnu/store closure.

(define-module (strata argv)
  #:export (make-customisation-tree
            strata-image-arguments))

(define (mkdir-p directory)
  (unless (file-exists? directory)
    (mkdir-p (dirname directory))
    (mkdir directory)))

(define* (make-customisation-tree directory profile #:key (symlinks '()))
  "Make DIRECTORY the tree of the image's last layer, holding what
'guix pack -f docker' adds to the store items: a /tmp directory, mode 1777,
and for each (SOURCE -> TARGET) of SYMLINKS, SOURCE (an absolute file name in
the image) a symlink to TARGET in PROFILE, with its parent directories."
  (let ((tmp (string-append directory "/tmp")))
    (mkdir-p tmp)
    (chmod tmp #o1777))
  (for-each (lambda (link-spec)
              (let ((source (car link-spec))
                    (target (caddr link-spec)))
                (unless (and (string-prefix? "/" source)
                             (eq? (cadr link-spec) '->))
                  (error "make-customisation-tree: expected (\"/SOURCE\" -> \"TARGET\"):" link-spec))
                (let ((link (string-append directory source)))
                  (mkdir-p (dirname link))
                  (symlink (string-append profile "/" target) link))))
            symlinks))

(define (->string x)
  (cond ((string? x) x)
        ((symbol? x) (symbol->string x))
        ((number? x) (number->string x))
        (else (error "strata-image-arguments: not a string, symbol or number:" x))))

(define* (strata-image-arguments #:key
                                 graph output name (tag "latest")
                                 profile
                                 (store-directory "/gnu/store")
                                 (max-layers 100)
                                 (strategy 'shared)
                                 (reuse '())
                                 entry-point
                                 (entry-point-arguments '())
                                 (environment '())
                                 customisation
                                 config
                                 (format 'docker)
                                 compression)
  "Return the list of strings that make the argv of 'strata' (without the
program name) writing an image of the closure in GRAPH, a references-graphs
file, to OUTPUT.  ENTRY-POINT is a file name relative to PROFILE, as with
'guix pack --entry-point', or an absolute file name;
ENTRY-POINT-ARGUMENTS follow it.  ENVIRONMENT is a list of \"VARIABLE=VALUE\"
strings for the image's Env.  CUSTOMISATION is a directory whose
tree (such as the symlinks of 'guix pack -S') becomes the last layer.
CONFIG is the image's runtime config as JSON text, or #f.  FORMAT is
'docker (a docker-archive, as 'docker load' reads it) or 'oci (an OCI
archive), whose layers COMPRESSION (#f, 'gzip or 'zstd) compresses.
REUSE is a list of plan files ('strata plan --format json', such as a
committed layer lock file) whose layers are kept where the closure holds
all their items."
  (define entry
    (and entry-point
         (if (string-prefix? "/" entry-point)
             entry-point
             (string-append profile "/" entry-point))))
  (append
   (list "image"
         "--graph" graph
         "--store-dir" store-directory
         "--name" name
         "--tag" tag
         "--max-layers" (->string max-layers)
         "--strategy" (->string strategy)
         ;; The build has no home: no digest cache, no progress.
         "--no-cache")
   (apply append (map (lambda (plan) (list "--reuse" plan)) reuse))
   (if entry
       ;; One '--entrypoint=ARG' each, so that an argument such as "-c"
       ;; is not taken for an option.
       (map (lambda (arg) (string-append "--entrypoint=" arg))
                    (cons entry entry-point-arguments))
       '())
   (map (lambda (variable) (string-append "--env=" variable)) environment)
   (if customisation (list "--customisation" customisation) '())
   (if config (list "--config" config) '())
   (case format
     ((docker)
      (if compression
          (error "strata-image-arguments: a docker-archive has no layer compression; use #:format 'oci" compression)
          (list "--to" (string-append "docker-archive:" output))))
     ((oci)
      (append (list "--to" (string-append "oci-archive:" output))
              (if compression (list "--compression" (->string compression)) '())))
     (else (error "strata-image-arguments: unknown format (docker or oci):" format)))))
