# The demo closure of strata's README: a static busybox, a data path and a
# small app that uses both. Plain builtins.derivation, so it builds with a
# bare Nix (no nixpkgs), sandbox on or off: `nix-build nix/demo.nix`.
#
# A sandboxed build sees no host /bin, so every builder is the host's static
# busybox (Debian's busybox-static), copied into the store at evaluation.
let
  # /bin/busybox, from /usr/bin where /bin is a link to it (merged /usr).
  hostBin = if (builtins.readDir /.).bin or null == "symlink" then /usr/bin else /bin;
  # A directory holding only `busybox`: a builder must be named busybox to
  # run its applets, and a store path's own name starts with its hash.
  busyboxDir = builtins.path {
    path = hostBin;
    name = "demo-host-busybox";
    filter = path: type: baseNameOf path == "busybox";
  };
  bb = "${busyboxDir}/busybox";

  mkPath = name: script: builtins.derivation {
    inherit name;
    system = builtins.currentSystem;
    builder = bb;
    args = [ "sh" "-e" "-c" script ];
  };

  busybox = mkPath "demo-busybox" ''
    ${bb} mkdir -p $out/bin
    ${bb} cp ${bb} $out/bin/busybox
    for tool in sh echo cat ls; do ${bb} ln -s busybox $out/bin/$tool; done
  '';

  greeting = mkPath "demo-greeting-1.0" ''
    ${bb} mkdir -p $out/share
    echo "hello from a strata image" > $out/share/greeting.txt
  '';
in
mkPath "demo-app-1.0" ''
  ${bb} mkdir -p $out/bin
  {
    echo '#!${busybox}/bin/sh'
    echo '${busybox}/bin/cat ${greeting}/share/greeting.txt'
  } > $out/bin/hello
  ${bb} chmod 755 $out/bin/hello
''
