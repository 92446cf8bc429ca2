;;; strata --- layered container images from store closures
;;;
;;; Layered container images of Guix packages, built by strata: a
;;; replacement for 'guix pack -f docker --max-layers=N' that groups store
;;; items so that updates re-ship little, and can write OCI archives with
;;; gzip or zstd layers.

(define-module (strata images)
  #:use-module (guix gexp)
  #:use-module (guix modules)
  #:use-module (guix packages)
  #:use-module (guix profiles)
  #:use-module (guix search-paths)
  #:use-module (strata packages)
  #:use-module (strata argv)
  #:use-module (ice-9 match)
  #:export (layered-image))

(define (imported-module? name)
  "Return true if NAME, a module name, is one the build imports with its
dependencies: Guix's own, as 'source-module-closure' selects by default, and
this channel's."
  (match name
    (('strata _ ...) #t)
    (_ (guix-module-name? name))))

(define (packages-or-profile->profile name packages-or-profile)
  "Return a profile of PACKAGES-OR-PROFILE: a profile, a manifest, or a
list of packages (or of (PACKAGE OUTPUT) lists), as 'guix pack' takes them."
  (cond ((profile? packages-or-profile) packages-or-profile)
        ((manifest? packages-or-profile)
         (profile (name (string-append name "-profile"))
                  (content packages-or-profile)))
        ((list? packages-or-profile)
         (profile (name (string-append name "-profile"))
                  (content (packages->manifest packages-or-profile))))
        (else
         (error "layered-image: expected a profile, a manifest or a list of packages"
                packages-or-profile))))

(define* (layered-image name packages-or-profile
                        #:key
                        (max-layers 100)
                        (strategy 'shared)
                        (reuse '())
                        entry-point
                        (entry-point-arguments '())
                        (symlinks '())
                        config
                        (format 'docker)
                        compression
                        (tag "latest")
                        (strata strata))
  "Return a <computed-file> for a layered container image called NAME:TAG
holding the closure of PACKAGES-OR-PROFILE (a profile, a manifest or a list
of packages), built by STRATA.

The image has at most MAX-LAYERS layers, the last one holding SYMLINKS and
/tmp, as 'guix pack -f docker' adds them; the store items are grouped into
the others by STRATEGY ('shared, strata's own, the application alone and the
rest where library updates re-ship least; 'popularity, as nixpkgs'
'streamLayeredImage'; or 'size, as 'guix pack --max-layers').  REUSE is a list
of plan files ('strata plan --format json', local-file or file-like), such as a
committed layer lock file: their layers are kept where the closure holds all
their items.  As with 'guix pack', the image's
environment sets the profile's search paths, such as PATH.  ENTRY-POINT is a file name relative to the
profile, as with 'guix pack --entry-point', run with ENTRY-POINT-ARGUMENTS.
SYMLINKS is a list of (SOURCE -> TARGET) as with 'guix pack -S': SOURCE, an
absolute file name in the image, becomes a symlink to TARGET in the
profile.  CONFIG is the image's runtime config (Env, Cmd, ExposedPorts...)
as JSON text, or #f.

FORMAT 'docker writes a docker-archive, which 'docker load' and 'podman
load' read as they read 'guix pack -f docker' output; 'oci writes an OCI
archive, whose layers COMPRESSION ('gzip or 'zstd) compresses."
  (define profile
    (packages-or-profile->profile name packages-or-profile))

  (define search-paths
    ;; The profile's search paths ($PATH and those of its packages), which
    ;; 'guix pack -f docker' sets in the image's environment.
    (map search-path-specification->sexp
         (manifest-search-paths (profile-content profile))))

  (define build
    (with-imported-modules (source-module-closure
                            '((guix build utils)
                              (guix search-paths)
                              (strata argv))
                            #:select? imported-module?)
      #~(begin
          (use-modules (guix build utils)
                       (guix search-paths)
                       (strata argv)
                       (ice-9 match))

          (define customisation
            (string-append (getcwd) "/customisation"))

          (define environment
            (map (match-lambda
                   ((specification . value)
                    (string-append
                     (search-path-specification-variable specification)
                     "=" value)))
                 (evaluate-search-paths
                  (map sexp->search-path-specification '#$search-paths)
                  (list #$profile))))

          ;; /tmp and the symlinks, as 'guix pack -f docker -S' adds them.
          (make-customisation-tree customisation #$profile
                                   #:symlinks '#$symlinks)

          ;; "graph" is the closure of the profile, which the daemon wrote
          ;; for #:references-graphs.
          (apply invoke #$(file-append strata "/bin/strata")
                 (strata-image-arguments
                  #:graph (string-append (getcwd) "/graph")
                  #:output #$output
                  #:name #$name
                  #:tag #$tag
                  #:profile #$profile
                  #:store-directory (%store-directory)
                  #:max-layers #$max-layers
                  #:strategy '#$strategy
                  #:reuse (list #$@reuse)
                  #:entry-point #$entry-point
                  #:entry-point-arguments '#$entry-point-arguments
                  #:environment environment
                  #:customisation customisation
                  #:config #$config
                  #:format '#$format
                  #:compression '#$compression)))))

  (computed-file (string-append name
                                (if (eq? format 'oci) "-oci.tar" "-docker.tar"))
                 build
                 #:options `(#:references-graphs (("graph" ,profile)))))
