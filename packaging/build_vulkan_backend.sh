#!/usr/bin/env bash
# Build ggml's Vulkan backend as a plugin (libggml-vulkan.so) for the bundle.
#
# It is built from the same llama.cpp source as the wheel (same version, GGML_BACKEND_DL), so it
# plugs into the wheel's libggml-base.so. At run time ggml loads it only if the system has a
# Vulkan loader (libvulkan.so.1) and a GPU driver; otherwise it is skipped and the CPU plugins
# do the work. Needs: cmake, a C++17 compiler, Vulkan headers and loader, glslc and
# SPIRV-Headers (Debian/Ubuntu: apt-get install libvulkan-dev glslc spirv-headers).
# Usage: packaging/build_vulkan_backend.sh PYTHON   -> prints the plugin's path on the last line.
set -euo pipefail
PY=${1:?usage: build_vulkan_backend.sh PYTHON}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${HEARTH_PACKAGING_CACHE:-$HOME/.cache/hearth-packaging}
VERSION=$(grep -o 'llama-cpp-python==[0-9.]*' "$ROOT/pyproject.toml" | head -1 | cut -d= -f3)
SDIST="$CACHE/src/llama_cpp_python-$VERSION.tar.gz"
SRC="$CACHE/src/llama_cpp_python-$VERSION"
BUILD="$CACHE/build/vulkan-$VERSION"

for tool in cmake glslc; do
  command -v "$tool" >/dev/null || { echo "error: $tool not found (apt-get install glslc libvulkan-dev spirv-headers)" >&2; exit 2; }
done
if [ ! -d "$SRC" ]; then
  if [ ! -f "$SDIST" ]; then
    mkdir -p "$CACHE/src"
    "$PY" -m pip download --quiet --no-deps --no-binary :all: "llama-cpp-python==$VERSION" -d "$CACHE/src"
  fi
  tar -xzf "$SDIST" -C "$CACHE/src"
fi
# This llama.cpp needs Vulkan headers >= 1.3.261 (VK_EXT_layer_settings). Older system headers
# (Debian 12 has 1.3.239) are replaced by newer header-only packages, see fetch_vulkan_headers.sh.
HEADERS=${HEARTH_VULKAN_HEADERS:-}
if [ -z "$HEADERS" ] && ! grep -qs LayerSettingEXT /usr/include/vulkan/vulkan_structs.hpp; then
  HEADERS=$("$ROOT/packaging/fetch_vulkan_headers.sh" | tail -1)
fi
HEADER_ARGS=()
if [ -n "$HEADERS" ]; then
  HEADER_ARGS=(-DVulkan_INCLUDE_DIR="$HEADERS/usr/include" -DSPIRV-Headers_DIR="$HEADERS/usr/share/cmake/SPIRV-Headers")
fi
if [ ! -f "$BUILD/bin/libggml-vulkan.so" ]; then
  cmake -S "$SRC/vendor/llama.cpp" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release \
    -DBUILD_SHARED_LIBS=ON -DGGML_BACKEND_DL=ON -DGGML_NATIVE=OFF -DGGML_CPU=OFF \
    -DGGML_VULKAN=ON -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF \
    -DLLAMA_BUILD_TOOLS=OFF -DLLAMA_BUILD_SERVER=OFF -DLLAMA_CURL=OFF -DCMAKE_SKIP_RPATH=ON \
    "${HEADER_ARGS[@]}" >&2
  cmake --build "$BUILD" --target ggml-vulkan -j "${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}" >&2
fi
echo "$BUILD/bin/libggml-vulkan.so"
