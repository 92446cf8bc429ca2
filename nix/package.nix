# strata built from this repository with nixpkgs' npm tooling. importNpmLock
# reads package-lock.json, so there is no npmDepsHash to keep up to date.
#
#   nix-build -E 'with import <nixpkgs> { }; callPackage ./nix/package.nix { npmRegistry = "URL"; }'
#
# with URL the npm registry, as `npm config get registry` prints it.
{ lib
, buildNpmPackage
, importNpmLock
  # nixpkgs' default Node, a maintained LTS.
, nodejs
  # The registry the dependencies are fetched from: the lock names none
  # (it records no `resolved` URLs), so each entry's URL is derived here.
, npmRegistry ? null
}:

let
  lock = builtins.fromJSON (builtins.readFile ../package-lock.json);

  # The registry's base URL without its trailing slashes; null if not http(s).
  registry =
    let m = if builtins.isString npmRegistry then builtins.match "(https?://.*[^/])/*" npmRegistry else null;
    in if m == null then null else builtins.head m;

  # npm's own tarball URL: REGISTRY/NAME/-/BASE-VERSION.tgz, BASE the name
  # without its @scope/.
  tarball = name: version: "${registry}/${name}/-/${baseNameOf name}-${version}.tgz";

  # An entry's package: its `name` (the real name of an alias), else its
  # path after the last node_modules/.
  nameOf = path: module: module.name or (builtins.head (builtins.match ".*node_modules/(.*)" path));

  # What importNpmLock fetches: every entry but the root, from its `resolved`.
  packageLock = lock // {
    packages = builtins.mapAttrs
      (path: module: if path == "" then module else module // { resolved = tarball (nameOf path module) module.version; })
      lock.packages;
  };
in
if npmRegistry == null then
  throw "strata's nix/package.nix: pass npmRegistry, the npm registry to fetch package-lock.json's dependencies from (what `npm config get registry` prints), e.g. import ./nix { inherit pkgs; npmRegistry = \"...\"; }"
else if registry == null then
  throw "strata's nix/package.nix: npmRegistry '${toString npmRegistry}' is not an http(s) URL; pass the registry's URL as `npm config get registry` prints it"
else
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

  inherit nodejs;
  npmDeps = importNpmLock { npmRoot = ../.; inherit packageLock; };
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
