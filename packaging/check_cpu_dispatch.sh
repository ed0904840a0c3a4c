#!/usr/bin/env bash
# Proves the bundle's llama.cpp runs on CPUs older than the build machine's.
#
# Runs a short generation with the starter model under qemu-user's CPU emulation (Debian:
# apt-get install qemu-user), once per CPU model, plus natively, and prints which ggml CPU
# plugin each run picked. With --contrast it also tries the development .venv's default
# (-march=native) build on the oldest model, which is expected to die with SIGILL.
# It loads the bundle's own libraries (dist/Hearth/_internal/llama_cpp/lib + the plugins beside
# the executable) into the build venv's Python, because qemu-user does not follow the bundle's
# engine child process.
# Usage: packaging/check_cpu_dispatch.sh [--contrast] [CPU_MODEL...]   (default: qemu64 Nehalem Haswell)
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${HEARTH_PACKAGING_CACHE:-$HOME/.cache/hearth-packaging}
PY="$CACHE/venv/bin/python"
BUNDLE=${HEARTH_BUNDLE:-$ROOT/dist/Hearth}
STARTER=${HEARTH_STARTER:-/tmp/hearth-test-cache/models/google/gemma-3-270m/gemma-3-270m-Q4_K_M.gguf}
CONTRAST=0
if [ "${1:-}" = "--contrast" ]; then CONTRAST=1; shift; fi
MODELS=("$@")
[ ${#MODELS[@]} -eq 0 ] && MODELS=(qemu64 Nehalem Haswell)

PROBE=$(mktemp -d)
trap 'rm -rf "$PROBE"' EXIT
cat > "$PROBE/probe.py" <<'PY'
"""Load llama.cpp from LIB_DIR (plugins from the current directory), generate 4 tokens."""
import ctypes, os, sys
os.environ["LLAMA_CPP_LIB_PATH"] = sys.argv[1]
import llama_cpp
llama_cpp.llama_backend_init()
model_path, n = sys.argv[2].encode(), 4
params = llama_cpp.llama_model_default_params()
model = llama_cpp.llama_model_load_from_file(model_path, params)
assert model, "model failed to load"
cparams = llama_cpp.llama_context_default_params()
cparams.n_ctx, cparams.n_threads, cparams.n_threads_batch = 256, 2, 2
ctx = llama_cpp.llama_init_from_model(model, cparams)
vocab = llama_cpp.llama_model_get_vocab(model)
prompt = b"The capital of France is"
tokens = (llama_cpp.llama_token * 64)()
count = llama_cpp.llama_tokenize(vocab, prompt, len(prompt), tokens, 64, True, False)
batch = llama_cpp.llama_batch_get_one(tokens, count)
sampler = llama_cpp.llama_sampler_init_greedy()
out = b""
for _ in range(n):
    assert llama_cpp.llama_decode(ctx, batch) == 0
    token = llama_cpp.llama_sampler_sample(sampler, ctx, -1)
    buf = ctypes.create_string_buffer(64)
    size = llama_cpp.llama_token_to_piece(vocab, token, buf, 64, 0, False)
    out += buf.raw[:size]
    one = (llama_cpp.llama_token * 1)(token)
    batch = llama_cpp.llama_batch_get_one(one, 1)
print("GENERATED", repr(out.decode(errors="replace")), flush=True)
PY

LIB="$BUNDLE/_internal/llama_cpp/lib"
[ -d "$LIB" ] || { echo "no bundle libraries at $LIB: build the bundle first" >&2; exit 2; }
status=0
probe() {  # label, then the command prefix (empty: native)
  local label=$1; shift
  local out
  out=$(cd "$BUNDLE" && timeout 1200 "$@" "$PY" "$PROBE/probe.py" "$LIB" "$STARTER" 2>&1)
  local rc=$?
  local plugin
  plugin=$(printf '%s\n' "$out" | sed -n 's/.*loaded CPU backend from .*\/\(libggml-cpu-[^ ]*\.so\).*/\1/p' | head -1)
  local text
  text=$(printf '%s\n' "$out" | sed -n 's/^GENERATED //p')
  printf '%-10s rc=%-3s plugin=%-32s text=%s\n' "$label" "$rc" "${plugin:-none}" "${text:-(none)}"
  [ $rc -eq 0 ] && [ -n "$text" ] || status=1
}
probe native
for model in "${MODELS[@]}"; do
  probe "$model" qemu-x86_64 -cpu "$model"
done
if [ $CONTRAST -eq 1 ]; then
  DEV_LIB=$("$ROOT/.venv/bin/python" -c "import pathlib, llama_cpp; print(pathlib.Path(llama_cpp.__file__).parent / 'lib')")
  out=$(cd "$PROBE" && timeout 1200 qemu-x86_64 -cpu "${MODELS[0]}" "$PY" "$PROBE/probe.py" "$DEV_LIB" "$STARTER" 2>&1)
  rc=$?
  echo "contrast: the dev .venv's -march=native build on ${MODELS[0]}: rc=$rc $(printf '%s' "$out" | grep -o -m1 'Illegal instruction\|GENERATED.*')"
fi
exit $status
