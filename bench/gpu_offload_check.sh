#!/usr/bin/env bash
# GPU check of the planner on one NVIDIA H100/H200 (sm_90), no network, <= 64 MiB sent.
#
# NOT RUN YET: written without a GPU machine; expect to fix small things on the first run.
#
# Two steps:
#   1. here (with network/PyPI):   bench/gpu_offload_check.sh prepare [PYTHON_VERSION]
#      -> build/gpu-check/{llama-src.tar.xz, wheels/}  (about 30 MiB; trimmed sdist: the
#         vendored llama.cpp without models/docs/tests/tools/examples, plus the pure-Python
#         llama_cpp package, plus wheels the device may lack: numpy, gguf, psutil, pynvml...)
#   2. on the GPU machine (repo root, carry build/gpu-check):
#         bench/gpu_offload_check.sh run
#      builds libllama for CUDA sm_90 only (cmake + nvcc, ~6-8 min on 16 cores), writes a
#      ~4 GB GGUF with tests/helpers/gguf_factory, plans it with the real NVML numbers, loads
#      it with each plan in a fresh process and reports predicted vs measured VRAM (NVML used
#      before/after) and RSS, and whether the load succeeded without OOM. Results go to
#      $OUT (or build/gpu-check/out): gpu_check.txt and gpu_check.json.
set -euo pipefail
HERE="$(cd "$(dirname "$0")/.." && pwd)"
WORK="$HERE/build/gpu-check"
LCP_VERSION=0.3.36

prepare() {
    local pyver="${1:-3.11}"
    mkdir -p "$WORK/wheels"
    local tmp; tmp="$(mktemp -d)"
    pip download "llama-cpp-python==$LCP_VERSION" --no-deps --no-binary :all: -d "$tmp" -q
    tar -xzf "$tmp"/llama_cpp_python-*.tar.gz -C "$tmp"
    local src; src="$(echo "$tmp"/llama_cpp_python-$LCP_VERSION)"
    # keep only what a shared libllama build needs, and the Python bindings
    tar -C "$src" -cJf "$WORK/llama-src.tar.xz" \
        --exclude='*/ggml-vulkan' --exclude='*/ggml-sycl' --exclude='*/ggml-opencl' \
        --exclude='*/ggml-hexagon' --exclude='*/ggml-metal' --exclude='*/ggml-cann' \
        --exclude='*/ggml-musa' --exclude='*/ggml-webgpu' --exclude='*/ggml-et' \
        llama_cpp vendor/llama.cpp/CMakeLists.txt vendor/llama.cpp/cmake \
        vendor/llama.cpp/ggml vendor/llama.cpp/src vendor/llama.cpp/include \
        vendor/llama.cpp/LICENSE
    pip download --only-binary :all: --python-version "$pyver" \
        --platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64 \
        --platform manylinux_2_28_x86_64 -d "$WORK/wheels" -q \
        numpy gguf psutil nvidia-ml-py typing_extensions diskcache jinja2 markupsafe pyyaml tqdm
    rm -rf "$tmp"
    du -sh "$WORK"
}

run() {
    local out="${OUT:-$WORK/out}"
    mkdir -p "$out"
    local t0=$SECONDS
    local py="${PYTHON:-python3}"
    nvidia-smi --query-gpu=name,memory.total,memory.used,driver_version --format=csv | tee "$out/nvidia-smi.txt"

    # Python deps: use the device's if present, else the carried wheels (no index, no network).
    if ! "$py" -c "import numpy, gguf, psutil, pynvml" 2>/dev/null; then
        "$py" -m venv "$WORK/venv" --system-site-packages
        py="$WORK/venv/bin/python"
        "$py" -m pip install -q --no-index --find-links "$WORK/wheels" \
            numpy gguf psutil nvidia-ml-py typing_extensions diskcache jinja2 pyyaml tqdm
    fi

    # Build libllama (+ ggml-cuda) for sm_90 only.
    local src="$WORK/src"
    if [ ! -f "$src/build/bin/libllama.so" ]; then
        rm -rf "$src" && mkdir -p "$src"
        tar -xJf "$WORK/llama-src.tar.xz" -C "$src"
        cmake -S "$src/vendor/llama.cpp" -B "$src/build" -DCMAKE_BUILD_TYPE=Release \
            -DGGML_CUDA=on -DCMAKE_CUDA_ARCHITECTURES=90 -DBUILD_SHARED_LIBS=ON \
            -DGGML_NATIVE=ON -DLLAMA_BUILD_COMMON=OFF -DLLAMA_BUILD_TESTS=OFF \
            -DLLAMA_BUILD_TOOLS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF \
            -DLLAMA_OPENSSL=OFF -DCMAKE_LIBRARY_OUTPUT_DIRECTORY="$src/build/bin" > "$out/cmake.log" 2>&1
        cmake --build "$src/build" --target llama -j "$(nproc)" > "$out/build.log" 2>&1 \
            || { tail -50 "$out/build.log"; exit 1; }
    fi
    echo "build done after $((SECONDS - t0)) s"
    local libdir; libdir="$(dirname "$(find "$src/build" -name 'libllama.so' | head -1)")"
    # every ggml shared library next to libllama, where llama_cpp's loader looks
    find "$src/build" -name 'libggml*.so' -exec cp -n {} "$libdir/" \; 2>/dev/null || true

    export LLAMA_CPP_LIB_PATH="$libdir"
    export LD_LIBRARY_PATH="$libdir:${LD_LIBRARY_PATH:-}"
    export PYTHONPATH="$src:$HERE:${PYTHONPATH:-}"
    "$py" "$HERE/bench/gpu_offload_check.py" --workdir "$WORK" --out "$out"
    echo "total $((SECONDS - t0)) s"
}

case "${1:-}" in
    prepare) shift; prepare "$@" ;;
    run) run ;;
    *) echo "usage: $0 prepare [PYTHON_VERSION] | run" >&2; exit 2 ;;
esac
