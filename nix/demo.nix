# The demo closure of strata's README: a static busybox, a data path and a
# small app that uses both. Plain builtins.derivation, so it builds with a
# bare Nix (no nixpkgs): `nix-build nix/demo.nix`.
let
  mkPath = name: script: builtins.derivation {
    inherit name;
    system = builtins.currentSystem;
    builder = "/bin/sh";
    args = [ "-c" script ];
  };

  busybox = mkPath "demo-busybox" ''
    /bin/mkdir -p $out/bin
    /bin/cp /bin/busybox $out/bin/busybox
    for tool in sh echo cat ls; do /bin/ln -s busybox $out/bin/$tool; done
  '';

  greeting = mkPath "demo-greeting-1.0" ''
    /bin/mkdir -p $out/share
    echo "hello from a strata image" > $out/share/greeting.txt
  '';
in
mkPath "demo-app-1.0" ''
  /bin/mkdir -p $out/bin
  {
    echo '#!${busybox}/bin/sh'
    echo '${busybox}/bin/cat ${greeting}/share/greeting.txt'
  } > $out/bin/hello
  /bin/chmod 755 $out/bin/hello
''
