#!/bin/sh
# Builds src/image/libdeflate.wasm from the vendored libdeflate and its glue.
# Needs: apt-get install clang lld wasi-libc libclang-rt-14-dev-wasm32
set -eu
cd "$(dirname "$0")/../vendor"
L=libdeflate/lib
clang --target=wasm32-wasi --sysroot=/usr -isystem /usr/include/wasm32-wasi -L/usr/lib/wasm32-wasi \
  -O2 -msimd128 -Ilibdeflate -nostartfiles -Wl,--no-entry -Wl,-z,stack-size=1048576 \
  -o ../src/image/libdeflate.wasm libdeflate-glue.c $L/deflate_compress.c $L/gzip_compress.c $L/crc32.c $L/utils.c
sha256sum ../src/image/libdeflate.wasm
