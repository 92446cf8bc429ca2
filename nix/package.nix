# strata built from this repository with nixpkgs' npm tooling. importNpmLock
# reads package-lock.json, so there is no npmDepsHash to keep up to date.
#
#   nix-build -E 'with import <nixpkgs> { }; callPackage ./nix/package.nix { }'
{ lib
, buildNpmPackage
, importNpmLock
, nodejs_20
}:

buildNpmPackage {
  pname = "strata";
  version = (builtins.fromJSON (builtins.readFile ../package.json)).version;

  src = lib.fileset.toSource {
    root = ../.;
    fileset = lib.fileset.unions [
      ../package.json
      ../package-lock.json
      ../tsconfig.json
      ../src
      ../templates
      ../nix
      (lib.fileset.maybeMissing ../guix)
    ];
  };

  nodejs = nodejs_20;
  npmDeps = importNpmLock { npmRoot = ../.; };
  npmConfigHook = importNpmLock.npmConfigHook;

  # `npm run build` (tsc) is buildNpmPackage's default build step; the
  # tests need nix, skopeo, umoci and podman, so they are not run here.
  npmBuildScript = "build";

  meta = {
    description = "Layered container images from Nix and Guix store closures";
    license = lib.licenses.mit;
    mainProgram = "strata";
    platforms = lib.platforms.linux;
  };
}
