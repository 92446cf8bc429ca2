#!/usr/bin/env bash
# Install what strata's test suite needs, when it is missing: a single-user
# Nix (the fixture store), image tools (skopeo, umoci, podman, a registry,
# and the engines the tests start in temp dirs: dockerd, containerd, runc;
# openssl and htpasswd for its TLS and basic-auth tests),
# a static busybox (the entrypoint of test images), fakeroot, fakechroot and
# sqlite3 (nix/default.nix's fakeRootCommands, enableFakechroot and
# includeNixDB under the tests' stand-in packages), rsync (dockerTools.buildImage's
# copyToRoot, as nixpkgs copies it), zstd, python3, chromium
# (headless, for the HTML report's tests), guile (the
# Guix channel's Scheme, read without Guix), Debian's arm64, armhf and s390x
# C libraries (real foreign ELF files for the platform guard) and the
# npm dependencies. Idempotent and quick when everything is there: it only
# asks dpkg, and prints one line per action it takes.
#
# Nothing in /etc is changed: the tests pass podman and skopeo their
# settings on the command line (see test/helpers/store.ts).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

actions=0
say() { printf 'install-deps: %s\n' "$*"; }
act() { actions=$((actions + 1)); say "$@"; }

apt_packages=(nix-bin skopeo umoci podman runc docker.io containerd busybox-static docker-registry openssl apache2-utils zstd python3 guile-3.0 chromium fakeroot fakechroot sqlite3 rsync libc6-arm64-cross libc6-armhf-cross libc6-s390x-cross)

missing=()
for pkg in "${apt_packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
  if [[ "$status" != "install ok installed" ]]; then
    missing+=("$pkg")
  fi
done

if ((${#missing[@]} > 0)); then
  if [[ $(id -u) -ne 0 ]]; then
    say "missing apt packages (${missing[*]}), and installing them needs root" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  act "apt-get update"
  apt-get update -qq >/dev/null
  act "apt-get install ${missing[*]}"
  apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# Single-user Nix as root (NIX_CONFIG in the tests turns off build users,
# the sandbox and substituters) only needs the store and state directories.
for dir in /nix/store /nix/var/nix; do
  if [[ ! -d "$dir" ]]; then
    act "mkdir -p $dir"
    mkdir -p "$dir"
  fi
done

if [[ ! -d node_modules ]]; then
  act "npm ci"
  npm ci --no-audit --no-fund >/dev/null
fi

if ((actions == 0)); then
  say "all present"
fi
