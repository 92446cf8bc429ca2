# strata's Nix library: drop-ins for nixpkgs' dockerTools.streamLayeredImage
# and buildLayeredImage, built by the strata command instead of nixpkgs'
# stream_layered_image.py.
#
#   let strataLib = import ./nix { inherit pkgs; npmRegistry = "URL"; };   # URL: `npm config get registry`
#   in strataLib.streamLayeredImage { name = "app"; contents = [ pkgs.hello ]; config.Cmd = [ "hello" ]; }
#
# Of nixpkgs this uses only: runCommand, writeText, writeScript, symlinkJoin,
# jq, fakeroot, runtimeShell, stdenv.hostPlatform (or go.GOARCH) and
# callPackage (for the default `strata`); gzip or zstd for buildLayeredImage's
# compressor; proot for enableFakechroot; nix, sqlite and closureInfo for
# includeNixDB; lib (makeOverridable, functionArgs, setFunctionArgs,
# fetchers), rsync and dockerTools' helpers for ./docker-tools.nix. The
# closure is read from exportReferencesGraph (structured attrs) inside the
# conf derivation: no store query in a build.
{ pkgs ? import <nixpkgs> { }
  # The npm registry strata's dependencies are fetched from (what `npm config
  # get registry` prints), for the default `strata`; not needed with your own.
, npmRegistry ? null
, strata ? pkgs.callPackage ./package.nix { inherit npmRegistry; }
}:

let
  inherit (builtins) baseNameOf concatStringsSep toJSON substring unsafeDiscardStringContext;

  upper = [ "A" "B" "C" "D" "E" "F" "G" "H" "I" "J" "K" "L" "M" "N" "O" "P" "Q" "R" "S" "T" "U" "V" "W" "X" "Y" "Z" ];
  lower = [ "a" "b" "c" "d" "e" "f" "g" "h" "i" "j" "k" "l" "m" "n" "o" "p" "q" "r" "s" "t" "u" "v" "w" "x" "y" "z" ];
  toLower = builtins.replaceStrings upper lower;

  # Single-quoted shell word.
  shellArg = s: "'" + builtins.replaceStrings [ "'" ] [ "'\\''" ] (toString s) + "'";

  toList = x: if builtins.isList x then x else [ x ];

  # GOARCH of a Nix system string, as nixpkgs' go.GOARCH.
  goArchOf = system:
    let cpu = builtins.head (builtins.split "-" system);
    in {
      x86_64 = "amd64";
      i686 = "386";
      aarch64 = "arm64";
      armv7l = "arm";
      armv6l = "arm";
      powerpc64le = "ppc64le";
      riscv64 = "riscv64";
      s390x = "s390x";
      mips64el = "mips64le";
      loongarch64 = "loong64";
    }.${cpu} or cpu;

  defaultArchitecture =
    pkgs.go.GOARCH or (goArchOf (pkgs.stdenv.hostPlatform.system or builtins.currentSystem));

  runtimeShell = pkgs.runtimeShell or "/bin/sh";

  # The arguments common to streamLayeredImage and streamImage: nixpkgs'
  # streamLayeredImage arguments with its defaults, plus strata's own.
  mkStream =
    { name
    , tag ? null
    , fromImage ? null
    , contents ? [ ]
    , config ? { }
    , architecture ? defaultArchitecture
    , created ? "1970-01-01T00:00:01Z"
    , mtime ? "1970-01-01T00:00:01Z"
    , uid ? 0
    , gid ? 0
    , uname ? "root"
    , gname ? "root"
    , maxLayers ? 100
    , extraCommands ? ""
    , fakeRootCommands ? ""
    , enableFakechroot ? false
    , includeStorePaths ? true
    , includeNixDB ? false
    , passthru ? { }
    , meta ? { }
    , layeringPipeline ? null
    , debug ? false
      # strata's own (streamImage/buildImage); the drop-ins plan as nixpkgs, by popularity
    , strategy ? "shared"
    , perms ? null
    , inheritConfig ? null
    , os ? null
    , variant ? null
    , author ? null
    , annotations ? { }
    , pushTo ? null
      # Explicit layers, bottom first: each a list of store paths whose
      # closure (less earlier ones) gets one layer below the planned ones.
    , layers ? [ ]
      # Plans shipped before (strata plan --format json; a committed layer
      # lock file): their layers whose paths are all in the closure are kept.
    , reuse ? [ ]
      # A ready layer.tar + checksum directory in place of the customisation
      # layer (dockerTools.buildImage's one layer).
    , prebuiltLayer ? null
      # Layers named <sha256>/layer.tar as nixpkgs names them, for nixpkgs'
      # exact bytes (the drop-ins): the conf derivation then reads the closure
      # to record the digests, so the stream still reads each file once.
      # Otherwise layers are named by their inputs and no build reads them.
    , nixpkgsNames ? false
    , ...
    }:
    # As nixpkgs: maxLayers is for the default pipeline, so only it needs room.
    assert layeringPipeline != null || (builtins.isInt maxLayers && maxLayers > 1)
      || throw "in docker image ${name}: maxLayers must be greater than 1 when no layeringPipeline is given (current value: ${toString maxLayers})";
    let
      baseName = baseNameOf name;
      imageName = toLower name;

      # The image config, as a file whose references are the store paths it names.
      baseJson = pkgs.writeText "${baseName}-config.json" (toJSON config);

      contentsList = toList contents;

      # includeNixDB, as nixpkgs' mkDbExtraCommand: a Nix database in the
      # tree registering the closure of `contents`, each a GC root, so
      # nix-store works in the container.
      nixDbCommands = ''
        echo "Generating the nix database..."
        export NIX_REMOTE="local?root=$PWD"
        # Nix wants a user name.
        export USER=nobody
        ${pkgs.nix}/bin/nix-store --load-db < ${pkgs.closureInfo { rootPaths = contentsList; }}/registration
        # Registration times made reproducible.
        ${pkgs.sqlite}/bin/sqlite3 nix/var/nix/db/db.sqlite "UPDATE ValidPaths SET registrationTime = $SOURCE_DATE_EPOCH"
        mkdir -p nix/var/nix/gcroots/docker
        for root in ${concatStringsSep " " (map toString contentsList)}; do
          ln -s "$root" "nix/var/nix/gcroots/docker/$(basename "$root")"
        done
      '';
      allExtraCommands = (if includeNixDB then nixDbCommands else "") + extraCommands;

      # The customisation layer, as nixpkgs makes it: `contents` joined, then
      # extraCommands in that tree; then fakeRootCommands under fakeroot (in
      # proot, with the tree as / and the store at its place, for
      # enableFakechroot), and the tree tarred in the same session, before Nix
      # resets the modes of the output, so what both set is in the headers
      # (owners, a sticky /tmp, setuid bits, device files).
      fakerootShell = ''${pkgs.fakeroot}/bin/fakeroot ${runtimeShell} -e -c '
          ${if enableFakechroot then "" else "cd old_out"}
          eval "$fakeRootCommands"
          tar --sort=name ${if enableFakechroot then "--exclude=./dev --exclude=./proc --exclude=./sys --exclude=.${builtins.storeDir}" else ""} \
            --numeric-owner --mtime="@$SOURCE_DATE_EPOCH" --hard-dereference -cf "$out/layer.tar" .
        ' '';

      customisationLayer = if prebuiltLayer != null then prebuiltLayer else pkgs.symlinkJoin {
        name = "${baseName}-customisation-layer";
        paths = contentsList;
        inherit fakeRootCommands;
        postBuild = ''
          mv "$out" old_out
          (
            cd old_out
            ${allExtraCommands}
          )
          mkdir "$out"
          ${if enableFakechroot
            then "${pkgs.proot}/bin/proot -r \"$PWD/old_out\" -b /dev -b /proc -b /sys -b ${builtins.storeDir} --pwd=/ ${fakerootShell}"
            else fakerootShell}
          sha256sum "$out/layer.tar" | cut -d ' ' -f 1 > "$out/checksum"
        '';
      };

      closureRoots = if includeStorePaths then [ baseJson customisationLayer ] else [ ];

      optionalFlag = flag: v: if v == null then "" else "${flag} ${shellArg v}";

      conf = pkgs.runCommand "${baseName}-conf.json"
        {
          __structuredAttrs = true;
          exportReferencesGraph.closure = closureRoots;
          inherit baseJson customisationLayer imageName;
          preferLocalBuild = true;
          passthru.imageTag =
            if tag != null then tag
            else substring 0 32 (baseNameOf (unsafeDiscardStringContext conf.outPath));
        }
        ''
          ${if tag == null then ''
            outName="$(basename "$out")"
            imageTag="''${outName%%-*}"
          '' else ''
            imageTag=${shellArg tag}
          ''}
          attrs="''${NIX_ATTRS_JSON_FILE:-$NIX_BUILD_TOP/.attrs.json}"
          # The closure of the roots, less the roots themselves (as nixpkgs
          # drops baseJson and the customisation layer from the store layers).
          ${pkgs.jq}/bin/jq --arg c "$customisationLayer" --arg b "$baseJson" \
            '[(.closure // [])[] | select(.path != $c and .path != $b) | .references |= map(select(. != $c and . != $b))]' \
            "$attrs" > graph.json
          export HOME="$NIX_BUILD_TOP" XDG_CACHE_HOME="$NIX_BUILD_TOP/cache"
          ${strata}/bin/strata conf --graph graph.json ${if nixpkgsNames then "--digests" else ""} \
            --name "$imageName" --tag "$imageTag" \
            --config "$baseJson" \
            --customisation "$customisationLayer" \
            --architecture ${shellArg architecture} \
            --created ${shellArg created} --mtime ${shellArg mtime} \
            --uid ${toString uid} --gid ${toString gid} \
            --uname ${shellArg uname} --gname ${shellArg gname} \
            --max-layers ${toString maxLayers} \
            --strategy ${shellArg strategy} \
            ${concatStringsSep " " (map (r: "--reuse ${shellArg "${r}"}") reuse)} \
            ${optionalFlag "--layering-pipeline" (if layeringPipeline == null then null
              else if builtins.isList layeringPipeline then pkgs.writeText "${baseName}-layering-pipeline.json" (toJSON layeringPipeline)
              else "${layeringPipeline}")} \
            ${optionalFlag "--from" fromImage} \
            ${optionalFlag "--perms" (if perms == null then null else toJSON perms)} \
            ${optionalFlag "--inherit" (if inheritConfig == null then null else concatStringsSep "," inheritConfig)} \
            ${concatStringsSep " " (map (l: "--layer ${shellArg (concatStringsSep "," (map toString (toList l)))}") layers)} \
            ${optionalFlag "--os" os} ${optionalFlag "--variant" variant} ${optionalFlag "--author" author} \
            ${concatStringsSep " " (builtins.attrValues (builtins.mapAttrs (k: v: "--annotation ${shellArg "${k}=${v}"}") annotations))} \
            -o "$out"
        '';

      # As nixpkgs' stream script: an executable taking the conf, `stream CONF [-t TAG]`.
      streamScript = pkgs.writeScript "stream" ''
        #!${runtimeShell}
        exec ${strata}/bin/strata stream ${if nixpkgsNames then "--nixpkgs-names " else ""}"$@"
      '';

      result = pkgs.runCommand "stream-${baseName}"
        {
          inherit conf imageName;
          passthru = passthru // {
            inherit (conf) imageTag;
            inherit conf streamScript;
            isExe = true;
            # Push straight to a registry: `$(nix-build -A image.push) docker://host/repo:tag`.
            push = pkgs.runCommand "push-${baseName}" { } ''
              cat > "$out" <<'EOF'
              #!${runtimeShell}
              ${if pushTo == null then ''
                if [ $# -eq 0 ]; then echo "usage: $0 docker://HOST/REPO[:TAG] [strata stream options]" >&2; exit 2; fi
                dest="$1"; shift
              '' else ''
                dest=${shellArg "docker://${pushTo}"}
                case "$1" in docker://*) dest="$1"; shift ;; esac
              ''}
              exec ${strata}/bin/strata stream ${conf} --to "$dest" "$@"
              EOF
              chmod +x "$out"
            '';
          };
          inherit meta;
        }
        ''
          cat > "$out" <<'EOF'
          #!${runtimeShell}
          exec ${streamScript} ${conf} "$@"
          EOF
          chmod +x "$out"
        '';
    in
    result;

  # buildLayeredImage's compressors, by nixpkgs' names: the file name's
  # extension and the command the stream is piped through.
  compressors = {
    none = { ext = ""; command = "cat"; };
    gz = { ext = ".gz"; command = "${pkgs.gzip}/bin/gzip -n"; };
    zstd = { ext = ".zst"; command = "${pkgs.zstd}/bin/zstd -q -c"; };
  };

  compressorFor = compressor: name:
    compressors.${compressor}
      or (throw "in docker image ${name}: compressor must be one of: [${concatStringsSep " " (builtins.attrNames compressors)}]");

  # The stream through `compressor` into NAME.tar[.gz|.zst], as nixpkgs' buildLayeredImage.
  mkBuild = streamFn: args:
    let
      compress = compressorFor (args.compressor or "gz") args.name;
      stream = streamFn (removeAttrs args [ "compressor" ]);
    in
    pkgs.runCommand "${baseNameOf args.name}.tar${compress.ext}"
      {
        inherit (stream) imageName;
        passthru = { inherit (stream) imageTag; inherit stream; };
      }
      ''
        # --no-cache: a build has no home to keep layer digests in.
        ${stream} --no-cache | ${compress.command} > "$out"
      '';

  # strata's buildImage: format "docker-archive" (gzipped, as
  # buildLayeredImage), "oci-archive" or "oci" (a layout directory), with
  # layer compression for the OCI formats.
  buildImage = { format ? "docker-archive", compression ? null, ... }@args:
    let
      stream = streamImage (removeAttrs args [ "format" "compression" ]);
      baseName = baseNameOf args.name;
      to = {
        "oci-archive" = "oci-archive:$out:${stream.imageTag}";
        "oci" = "oci:$out:${stream.imageTag}";
      }.${format} or (throw "strata buildImage: format ${format}: expected docker-archive, oci-archive or oci");
    in
    if format == "docker-archive" then
      assert compression == null || compression == "gzip" || throw "strata buildImage: a docker-archive is gzipped as a whole; compression is for the OCI formats";
      mkBuild streamImage (removeAttrs args [ "format" "compression" ])
    else
      pkgs.runCommand "${baseName}${if format == "oci" then "-oci" else ".oci.tar"}"
        {
          passthru = { inherit (stream) imageTag; inherit stream; };
        }
        ''
          ${stream} --no-cache --to "${to}" ${if compression == null then "" else "--compression ${shellArg compression}"}
        '';

  streamImage = mkStream;

  dockerTools = import ./docker-tools.nix {
    inherit pkgs strata mkStream mkBuild compressors compressorFor defaultArchitecture shellArg toLower;
  };
in
{
  inherit strata streamImage buildImage dockerTools;
  inherit (dockerTools) streamLayeredImage buildLayeredImage;
}
