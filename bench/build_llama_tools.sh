#!/usr/bin/env bash
# Build llama.cpp's own tools (llama-bench, llama-server) from the same llama.cpp source that
# our llama-cpp-python wheel was compiled from, with the same default flags, so comparisons are
# like for like. Nothing of it is committed: it goes to $HEARTH_BENCH_CACHE (default /tmp).
# Usage: bench/build_llama_tools.sh  -> prints the bin directory on the last line.
set -euo pipefail
VERSION=$(.venv/bin/python -c 'import importlib.metadata as m; print(m.version("llama_cpp_python"))')
CACHE=${HEARTH_BENCH_CACHE:-/tmp/hearth-bench}
SRC=$CACHE/src/llama_cpp_python-$VERSION
BUILD=$CACHE/build-$VERSION
if [ ! -x "$BUILD/bin/llama-bench" ] || [ ! -x "$BUILD/bin/llama-server" ]; then
  mkdir -p "$CACHE/src"
  if [ ! -d "$SRC" ]; then
    .venv/bin/python -m pip download --quiet --no-deps --no-binary :all: \
      "llama-cpp-python==$VERSION" -d "$CACHE/src"
    tar -xzf "$CACHE/src/llama_cpp_python-$VERSION.tar.gz" -C "$CACHE/src"
  fi
  cmake -S "$SRC/vendor/llama.cpp" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release \
    -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TOOLS=ON \
    -DLLAMA_CURL=OFF -DLLAMA_OPENSSL=OFF -DBUILD_SHARED_LIBS=OFF >/dev/null
  cmake --build "$BUILD" --target llama-bench llama-server -j "$(nproc)" >/dev/null
fi
echo "$BUILD/bin"
