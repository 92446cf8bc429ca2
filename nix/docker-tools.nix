# nixpkgs' dockerTools, built by strata: every function that needs no VM,
# with nixpkgs' names, formal argument sets and defaults (so
# lib.functionArgs lists them and Nix refuses unknown ones), nixpkgs'
# passthru, and `.override` from pkgs.lib.makeOverridable. Whatever else
# pkgs.dockerTools holds (fakeNss, binSh, caCertificates, usrBinEnv,
# shadowSetup, ...) is nixpkgs' own, passed through, so the overlay
#
#   final: prev: { dockerTools = (import strata/nix { pkgs = prev; }).dockerTools; }
#
# keeps every dockerTools expression evaluating. Called by ./default.nix.
{ pkgs, strata, mkStream, mkBuild, compressors, compressorFor, defaultArchitecture, shellArg, toLower }:

let
  inherit (pkgs) lib;
  inherit (builtins) baseNameOf concatStringsSep toJSON;

  nixpkgsTools = pkgs.dockerTools or { };

  # An image argument (fromImage, mergeImages' list) as a file: a stream
  # script (isExe) is run into one first, so streamed images are accepted too.
  imageFile = image:
    if image.isExe or false then "$(f=\"$NIX_BUILD_TOP/image-$RANDOM.tar\"; ${image} > \"$f\"; echo \"$f\")"
    else "${image}";

  streamLayeredImage = lib.makeOverridable (
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
    }@args:
    # nixpkgs' layers (by popularity) and bytes.
    mkStream (args // { strategy = "popularity"; nixpkgsNames = true; }));

  # The stream through `compressor` into NAME.tar[.gz|.zst], as ./default.nix's mkBuild writes it.
  buildLayeredImage = lib.makeOverridable (
    { name
    , compressor ? "gz"
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
    }@args:
    mkBuild streamLayeredImage args);

  # f with includeNixDB set, taking (and listing) f's arguments.
  withNixDb = f: lib.makeOverridable (lib.setFunctionArgs (args: f (args // { includeNixDB = true; })) (lib.functionArgs f));

  # nixpkgs' mkDbExtraCommand, for buildImage's layer (the layered images have includeNixDB in ./default.nix).
  nixDbCommands = paths: ''
    echo "Generating the nix database..."
    export NIX_REMOTE="local?root=$PWD"
    export USER=nobody
    ${pkgs.nix}/bin/nix-store --load-db < ${pkgs.closureInfo { rootPaths = paths; }}/registration
    mkdir -p nix/var/nix/gcroots/docker
    for root in ${concatStringsSep " " (map toString paths)}; do
      ln -s "$root" "nix/var/nix/gcroots/docker/$(basename "$root")"
    done
  '';

  # One new layer on fromImage, as nixpkgs' buildImage makes it: copyToRoot
  # copied with rsync -a (symlinks to directories followed unless
  # keepContentsDirlinks), extraCommands run in it, tarred owned by uid:gid;
  # then the files of its closure the base image lacks appended, owned by root.
  buildImage = lib.makeOverridable (
    { name
    , tag ? null
    , fromImage ? null
    , fromImageName ? null
    , fromImageTag ? null
    , copyToRoot ? null
    , keepContentsDirlinks ? false
    , config ? null
    , architecture ? defaultArchitecture
    , extraCommands ? ""
    , uid ? 0
    , gid ? 0
    , runAsRoot ? null
    , diskSize ? 1024
    , buildVMMemorySize ? 512
    , created ? "1970-01-01T00:00:01Z"
    , compressor ? "gz"
    , includeNixDB ? false
    , contents ? null
    , meta ? { }
    }@args:
    assert runAsRoot == null || throw "in docker image ${name}: runAsRoot needs the VM nixpkgs runs it in, and strata runs none; make the files with extraCommands, and owners, modes or device files with buildLayeredImage's fakeRootCommands (enableFakechroot = true to run it with the image at /) or strata's streamImage perms";
    assert contents == null || copyToRoot == null || throw "in docker image ${name}: You can not specify both contents and copyToRoot.";
    let
      baseName = baseNameOf name;
      rootContents = if copyToRoot == null then contents else copyToRoot;
      rootList = if rootContents == null then [ ] else if builtins.isList rootContents then rootContents else [ rootContents ];
      compress = compressorFor compressor name;
      base =
        if fromImage == null then null
        else if fromImageName != null && fromImageTag != null then "docker-archive:${imageFile fromImage}:${fromImageName}:${fromImageTag}"
        else imageFile fromImage;

      # nixpkgs' mkPureLayer.
      layer = pkgs.runCommand "docker-layer-${baseName}"
        {
          extraCommands = (if includeNixDB then nixDbCommands rootList else "") + extraCommands;
          contents = map toString rootList;
        }
        ''
          mkdir layer
          for item in $contents; do
            ${pkgs.rsync}/bin/rsync -a${if keepContentsDirlinks then "K" else "k"} --chown=0:0 "$item/" layer/
          done
          chmod ug+w layer
          if [ -n "$extraCommands" ]; then
            (cd layer; eval "$extraCommands")
          fi
          mkdir "$out"
          tar -C layer --hard-dereference --sort=name --mtime="@$SOURCE_DATE_EPOCH" \
            --owner=${toString uid} --group=${toString gid} -cf "$out/layer.tar" .
        '';

      # The layer with its closure's files that the base image lacks.
      imageLayer = pkgs.runCommand "docker-image-layer-${baseName}"
        {
          __structuredAttrs = true;
          exportReferencesGraph.closure = [ layer ];
          inherit layer;
        }
        ''
          attrs="''${NIX_ATTRS_JSON_FILE:-$NIX_BUILD_TOP/.attrs.json}"
          ${pkgs.jq}/bin/jq -r --arg l "$layer" '.closure[].path | select(. != $l)' "$attrs" > deps
          # What the base image holds (its whiteouts applied), and this layer, as /PATH.
          : > baseFiles
          ${if base == null then "" else ''
            ${strata}/bin/strata export ${base} | tar -t | sed -e 's|^\./||' -e 's|/$||' -e '/^$/d' -e 's|^|/|' > baseFiles
          ''}
          tar -tf "$layer/layer.tar" | sed -e 's|^\./||' -e 's|/$||' -e '/^$/d' -e 's|^|/|' >> baseFiles
          : > layerFiles
          while read -r dep; do find "$dep" >> layerFiles; done < deps
          # /nix/store readable by anyone, when the layer brings store paths and the base has none.
          if [ -s deps ] && ! grep -qx '${builtins.storeDir}' baseFiles; then
            mkdir -p .${builtins.storeDir}
            chmod -R 555 nix
            printf '%s\n' ./nix .${builtins.storeDir} >> layerFiles
          fi
          LC_ALL=C comm -1 -3 <(LC_ALL=C sort -u baseFiles) <(LC_ALL=C sort -u layerFiles) > newFiles
          mkdir "$out"
          cp "$layer/layer.tar" "$out/layer.tar"
          chmod u+w "$out/layer.tar"
          tar -rpf "$out/layer.tar" --hard-dereference --sort=name --mtime="@$SOURCE_DATE_EPOCH" \
            --owner=0 --group=0 --no-recursion --verbatim-files-from --files-from newFiles
          sha256sum "$out/layer.tar" | cut -d ' ' -f 1 > "$out/checksum"
        '';

      stream = mkStream {
        inherit name architecture created meta;
        tag = "0";
        config = if config == null then { } else config;
        fromImage = base;
        includeStorePaths = false;
        prebuiltLayer = imageLayer;
        nixpkgsNames = true;
      };

      result = pkgs.runCommand "docker-image-${baseName}.tar${compress.ext}"
        {
          imageName = toLower name;
          passthru = {
            buildArgs = args;
            inherit layer stream;
            # As nixpkgs: the hash part of this output's path when no tag is given.
            imageTag = if tag != null then tag else builtins.head (builtins.split "-" (baseNameOf (builtins.unsafeDiscardStringContext result.outPath)));
          };
          inherit meta;
        }
        ''
          ${if tag == null then ''
            outName="$(basename "$out")"
            imageTag="''${outName%%-*}"
          '' else "imageTag=${shellArg tag}"}
          ${stream} --no-cache -t "$imageName:$imageTag" | ${compress.command} > "$out"
        '';
    in
    if contents != null
    then builtins.trace "in docker image ${name}: The contents parameter is deprecated. Change to copyToRoot if the contents are designed to be copied to the root filesystem." result
    else result);

  # nixpkgs' pullImage: a fixed-output derivation (hash or sha256) running
  # `strata pull` on imageName@imageDigest (the image for os/arch from an
  # index), writing a docker-archive named and tagged
  # finalImageName:finalImageTag. strata's archive is deterministic but not
  # skopeo's bytes: a hash taken from nixpkgs' pullImage changes once.
  pullImageWith =
    { imageName
    , imageDigest
    , outputHash
    , outputHashAlgo
    , os ? "linux"
    , arch ? defaultArchitecture
    , finalImageName ? imageName
    , finalImageTag ? "latest"
    , tlsVerify ? true
    , name ? builtins.replaceStrings [ "/" ":" ] [ "-" "-" ] "docker-image-${finalImageName}-${finalImageTag}.tar"
    }:
    pkgs.runCommand name
      ({
        inherit imageDigest outputHash outputHashAlgo;
        imageName = finalImageName;
        imageTag = finalImageTag;
        outputHashMode = "flat";
        impureEnvVars = lib.fetchers.proxyImpureEnvVars;
        sourceURL = "docker://${imageName}@${imageDigest}";
        destNameTag = "${finalImageName}:${finalImageTag}";
      } // (if pkgs ? cacert then { SSL_CERT_FILE = "${pkgs.cacert}/etc/ssl/certs/ca-bundle.crt"; } else { }))
      ''
        export HOME="$NIX_BUILD_TOP"
        ${strata}/bin/strata pull --platform ${shellArg "${os}/${arch}"} --tls-verify=${if tlsVerify then "true" else "false"} \
          "$sourceURL" "docker-archive:$out:$destNameTag"
      '';

  pullImage = (lib.fetchers.withNormalizedHash or (_: f: f)) { } pullImageWith;

  # The image's file system as one tar, its layers applied in order, with no VM.
  exportImage = lib.makeOverridable (
    { fromImage
    , fromImageName ? null
    , fromImageTag ? null
    , diskSize ? 1024
    , name ? fromImage.name
    }:
    pkgs.runCommand name { } ''
      ${strata}/bin/strata export ${if fromImageName != null && fromImageTag != null
        then "docker-archive:${imageFile fromImage}:${fromImageName}:${fromImageTag}"
        else imageFile fromImage} -o "$out"
    '');

  # Several images in one gzipped docker-archive that `docker load` reads at once.
  mergeImages = images: pkgs.runCommand "merge-docker-images" { } ''
    ${strata}/bin/strata merge ${concatStringsSep " " (map imageFile images)} | ${compressors.gz.command} > "$out"
  '';

  nixShell = import ./nix-shell-image.nix { inherit pkgs streamLayeredImage compressorFor; };
in
nixpkgsTools // {
  inherit streamLayeredImage buildLayeredImage buildImage pullImage exportImage mergeImages;
  inherit (nixShell) streamNixShellImage buildNixShellImage;
  buildImageWithNixDb = withNixDb buildImage;
  buildLayeredImageWithNixDb = withNixDb buildLayeredImage;
}
