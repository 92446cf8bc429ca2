# Store paths made from Debian packages, as scripts/debian-corpus.mjs
# describes them in a JSON file: one plain derivation per package (or per
# cycle of packages that depend on each other), holding the package's files
# at their Debian paths and referring to the store paths of its Depends.
{ spec
, system ? builtins.currentSystem
}:

let
  described = builtins.fromJSON (builtins.readFile spec);

  # Each file copied under $out at its own path, symlinks as symlinks. The
  # dependencies' paths written into the output make them its references.
  copyFiles = ''
    set -eu
    while IFS= read -r file; do
      dir="$out''${file%/*}"
      mkdir -p "$dir"
      cp -P "$file" "$dir/"
    done < "$filesPath"
    mkdir -p "$out/nix-support"
    for dep in $deps; do echo "$dep"; done > "$out/nix-support/debian-depends"
  '';

  storePath = node: builtins.derivation {
    inherit system;
    inherit (node) name;
    builder = "/bin/sh";
    args = [ "-c" copyFiles ];
    PATH = "/usr/bin:/bin";
    files = builtins.concatStringsSep "" (map (file: file + "\n") node.files);
    passAsFile = [ "files" ];
    deps = map (i: builtins.elemAt storePaths i) node.deps;
  };

  storePaths = map storePath described.nodes;
in
builtins.mapAttrs (_: i: builtins.elemAt storePaths i) described.roots
