;;; strata --- layered container images from store closures
;;;
;;; Where an npm registry keeps a package's tarball.  It is here, in a
;;; module that needs nothing but Guile, so that strata's tests derive the
;;; URLs of (strata npm-origins) with the code Guix runs.

(define-module (strata npm)
  #:export (npm-tarball-url))

(define (unscoped-name name)
  "Return NAME without its scope: \"pkg\" for \"@scope/pkg\" and for \"pkg\"."
  (let ((slash (string-index name #\/)))
    (if slash (substring name (+ slash 1)) name)))

(define (npm-tarball-url registry name version)
  "Return the URL of version VERSION of the npm package NAME (\"pkg\" or
\"@scope/pkg\") in REGISTRY, the base URL of an npm registry: the one npm
resolves, REGISTRY/NAME/-/PKG-VERSION.tgz."
  (string-append (string-trim-right registry #\/)
                 "/" name "/-/" (unscoped-name name) "-" version ".tgz"))
