#!/usr/bin/env bash
# strata's main job on the bundled demo closure: build it with Nix, plan its
# layers, write the image, and run it from the image's own files.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
npm run --silent build
export NIX_CONFIG=${NIX_CONFIG:-$'build-users-group =\nsandbox = false\nsubstituters ='}

app=$(nix-build nix/demo.nix --no-out-link)
echo "== closure of $app"
node dist/cli.js closure "$app"
echo "== layer plan (popularity, at most 4 layers)"
node dist/cli.js plan "$app" --max-layers 4
echo "== image"
node dist/cli.js image "$app" --max-layers 4 --name demo --tag latest --entrypoint "$app/bin/hello" -o strata-demo.tar
sha256sum strata-demo.tar
skopeo --insecure-policy inspect docker-archive:strata-demo.tar | head -20
echo "== running the image's entrypoint (umoci unpack + chroot)"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
skopeo --insecure-policy copy --quiet docker-archive:strata-demo.tar "oci:$work/oci:demo"
umoci unpack --image "$work/oci:demo" "$work/bundle" >/dev/null
chroot "$work/bundle/rootfs" "$app/bin/hello"
