# nixpkgs' streamNixShellImage and buildNixShellImage: an image whose shell
# has the environment nix-shell gives a derivation (its attributes, outputs,
# /build as home and working directory, `buildDerivation` on PATH to run
# its builder), run as uid:gid. Called by ./docker-tools.nix.
{ pkgs, streamLayeredImage, compressorFor }:

let
  inherit (pkgs) lib;
  inherit (builtins) concatStringsSep listToAttrs attrNames elem map toString typeOf;

  tools = pkgs.dockerTools or { };
  fakeNss = tools.fakeNss or pkgs.fakeNss;
  inherit (tools) binSh usrBinEnv;

  shellArg = s: "'" + builtins.replaceStrings [ "'" ] [ "'\\''" ] s + "'";

  # A derivation attribute as Nix passes it to the builder: paths copied to
  # the store, lists joined by spaces.
  stringValue = value:
    if typeOf value == "path" then "${value}"
    else if typeOf value == "list" then toString (map stringValue value)
    else toString value;

  # The build user's sandbox directory.
  sandboxBuildDir = "/build";

  streamNixShellImage = lib.makeOverridable (
    { drv
    , name ? drv.name + "-env"
    , tag ? null
    , uid ? 1000
    , gid ? 1000
    , homeDirectory ? "/build"
    , shell ? pkgs.bashInteractive + "/bin/bash"
    , command ? null
    , run ? null
    }:
    assert !(drv.drvAttrs.__structuredAttrs or false)
      || throw "streamNixShellImage: Does not work with the derivation ${drv.name} because it uses __structuredAttrs";
    assert command == null || run == null || throw "streamNixShellImage: Can't specify both command and run";
    let
      builder = pkgs.writeShellScriptBin "buildDerivation" ''
        exec ${shellArg (stringValue drv.drvAttrs.builder)} ${concatStringsSep " " (map (a: shellArg (stringValue a)) (drv.drvAttrs.args or [ ]))}
      '';
      staticPath = "${dirOf shell}:${builder}/bin";

      # nix-shell's rc file: the derivation's setup sourced, the shell hook run.
      rcfile = pkgs.writeText "nix-shell-rc" ''
        unset PATH
        dontAddDisableDepTrack=1
        [ -e $stdenv/setup ] && source $stdenv/setup
        PATH=${staticPath}:"$PATH"
        SHELL=${shellArg shell}
        BASH=${shellArg shell}
        set +e
        [ -n "$PS1" -a -z "$NIX_SHELL_PRESERVE_PROMPT" ] && PS1='\n\[\033[1;32m\][nix-shell:\w]\$\[\033[0m\] '
        if [ "$(type -t runHook)" = function ]; then
          runHook shellHook
        fi
        unset NIX_ENFORCE_PURITY
        shopt -u nullglob
        shopt -s execfail
        ${if command != null || run != null then ''
          ${if command != null then command else ""}
          ${if run != null then run else ""}
          exit
        '' else ""}
      '';

      drvEnv = listToAttrs (map
        (n:
          let str = stringValue drv.drvAttrs.${n};
          in if elem n (drv.drvAttrs.passAsFile or [ ])
          then { name = "${n}Path"; value = "${pkgs.writeText "pass-as-text-${n}" str}"; }
          else { name = n; value = str; })
        (attrNames drv.drvAttrs))
      // listToAttrs (map (o: { name = o; value = builtins.unsafeDiscardStringContext drv.${o}.outPath; }) (drv.outputs or [ "out" ]));

      envVars = {
        SSL_CERT_FILE = "${pkgs.cacert}/etc/ssl/certs/ca-bundle.crt";
        PATH = staticPath;
        HOME = homeDirectory;
        NIX_STORE = builtins.storeDir;
        NIX_BUILD_CORES = "1";
      } // drvEnv // {
        NIX_BUILD_TOP = sandboxBuildDir;
        TMPDIR = sandboxBuildDir;
        TEMPDIR = sandboxBuildDir;
        TMP = sandboxBuildDir;
        TEMP = sandboxBuildDir;
        PWD = sandboxBuildDir;
        TERM = "xterm-256color";
      };
    in
    streamLayeredImage {
      inherit name tag;
      contents = [
        binSh
        usrBinEnv
        (fakeNss.override {
          # The build user, with the home directory given.
          extraPasswdLines = [ "nixbld:x:${toString uid}:${toString gid}:Build user:${homeDirectory}:/noshell" ];
          extraGroupLines = [ "nixbld:!:${toString gid}:" ];
        })
      ];
      fakeRootCommands = ''
        # Anyone may add to the store (the build's outputs).
        mkdir -p .${builtins.storeDir}
        chmod a+w+t .${builtins.storeDir}
        mkdir -p .${sandboxBuildDir}
        chown -R ${toString uid}:${toString gid} .${sandboxBuildDir}
      '';
      config = {
        User = "${toString uid}:${toString gid}";
        Cmd = if run == null then [ shell "--rcfile" rcfile ] else [ shell rcfile ];
        WorkingDir = sandboxBuildDir;
        Env = map (n: "${n}=${envVars.${n}}") (attrNames envVars);
      };
    });

  buildNixShellImage = lib.makeOverridable (lib.setFunctionArgs
    ({ drv, compressor ? "gz", ... }@a:
      let
        stream = streamNixShellImage (removeAttrs a [ "compressor" ]);
        compress = compressorFor compressor drv.name;
      in
      pkgs.runCommand "${drv.name}-env.tar${compress.ext}"
        {
          inherit (stream) imageName;
          passthru = { inherit (stream) imageTag; inherit stream; };
        }
        ''
          ${stream} --no-cache | ${compress.command} > "$out"
        '')
    (lib.functionArgs streamNixShellImage // { compressor = true; }));
in
{
  inherit streamNixShellImage buildNixShellImage;
}
