;;; strata --- layered container images from store closures
;;;
;;; Layered container images of Guix packages, built by strata: a
;;; replacement for 'guix pack -f docker --max-layers=N' that groups store
;;; items by popularity and can write OCI archives with gzip or zstd
;;; layers.

(define-module (strata images)
  #:use-module (guix gexp)
  #:use-module (guix modules)
  #:use-module (guix packages)
  #:use-module (guix profiles)
  #:use-module (strata packages)
  #:use-module (strata argv)
  #:use-module (ice-9 match)
  #:export (layered-image))

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
                        (strategy 'popularity)
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

The image has at most MAX-LAYERS layers, the last one holding SYMLINKS; the
store items are grouped into the others by STRATEGY ('popularity, as
nixpkgs' 'streamLayeredImage').  ENTRY-POINT is a file name relative to the
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

  (define build
    (with-imported-modules (source-module-closure
                            '((guix build utils)
                              (strata argv)))
      #~(begin
          (use-modules (guix build utils)
                       (strata argv)
                       (ice-9 match))

          (define customisation
            (string-append (getcwd) "/customisation"))

          ;; The symlinks, as 'guix pack -S' makes them.
          (mkdir-p customisation)
          (for-each (match-lambda
                      ((source '-> target)
                       (let ((link (string-append customisation source)))
                         (mkdir-p (dirname link))
                         (symlink (string-append #$profile "/" target) link))))
                    '#$symlinks)

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
                  #:entry-point #$entry-point
                  #:entry-point-arguments '#$entry-point-arguments
                  #:customisation customisation
                  #:config #$config
                  #:format '#$format
                  #:compression '#$compression)))))

  (computed-file (string-append name
                                (if (eq? format 'oci) "-oci.tar" "-docker.tar"))
                 build
                 #:options `(#:references-graphs (("graph" ,profile)))))
