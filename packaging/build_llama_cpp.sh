#!/usr/bin/env bash
# Build llama-cpp-python's wheel for the bundle: runtime CPU dispatch instead of -march=native.
#
# pip's default source build compiles llama.cpp with -march=native, so the result dies with
# SIGILL on any CPU older than the build machine. Here ggml is built with
#   GGML_NATIVE=OFF          no host-specific instructions in the core libraries
#   GGML_BACKEND_DL=ON       backends are plugins (libggml-cpu-*.so, libggml-vulkan.so)
#   GGML_CPU_ALL_VARIANTS=ON one CPU plugin per x86 generation (x64, sse42, sandybridge,
#                            haswell, skylakex, icelake, zen4, alderlake, sapphirerapids, ...);
#                            at start ggml scores each against the running CPU, loads the best
#   CMAKE_INSTALL_BINDIR=llama_cpp/lib  installs the plugins beside libllama.so in the wheel
#                            (ggml would otherwise put them in <site-packages>/bin)
# The wheel is cached by version and flags. ~45 min on 2 cores (one CPU backend per variant).
# Usage: packaging/build_llama_cpp.sh PYTHON   -> prints the wheel's path on the last line.
set -euo pipefail
PY=${1:?usage: build_llama_cpp.sh PYTHON}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${HEARTH_PACKAGING_CACHE:-$HOME/.cache/hearth-packaging}
VERSION=$(grep -o 'llama-cpp-python==[0-9.]*' "$ROOT/pyproject.toml" | head -1 | cut -d= -f3)
FLAGS="-DGGML_NATIVE=OFF -DGGML_BACKEND_DL=ON -DGGML_CPU_ALL_VARIANTS=ON -DCMAKE_INSTALL_BINDIR=llama_cpp/lib ${HEARTH_EXTRA_CMAKE_ARGS:-}"
KEY=$(printf '%s %s' "$VERSION" "$FLAGS" | sha256sum | cut -c1-12)
OUT="$CACHE/wheels/llama-$VERSION-$KEY"

wheel=$(ls "$OUT"/llama_cpp_python-*.whl 2>/dev/null | head -1 || true)
if [ -z "$wheel" ]; then
  SDIST="$CACHE/src/llama_cpp_python-$VERSION.tar.gz"
  if [ ! -f "$SDIST" ]; then
    mkdir -p "$CACHE/src"
    "$PY" -m pip download --quiet --no-deps --no-binary :all: "llama-cpp-python==$VERSION" -d "$CACHE/src"
  fi
  mkdir -p "$OUT" "$CACHE/build"
  echo "Building llama-cpp-python $VERSION with: $FLAGS" >&2
  CMAKE_ARGS="$FLAGS" CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)} \
    "$PY" -m pip wheel --no-deps -w "$OUT" \
      -C "build-dir=$CACHE/build/llama-$VERSION-$KEY" -C cmake.verbose=false "$SDIST" >&2
  wheel=$(ls "$OUT"/llama_cpp_python-*.whl | head -1)
fi
# A wheel without the CPU plugins would load no backend at all: refuse it.
if ! "$PY" -m zipfile -l "$wheel" | grep -q 'llama_cpp/lib/libggml-cpu-x64.so'; then
  echo "error: $wheel has no llama_cpp/lib/libggml-cpu-x64.so (CPU dispatch plugins)" >&2
  exit 1
fi
echo "$wheel"
