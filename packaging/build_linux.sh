#!/usr/bin/env bash
# Build Hearth for Linux x86-64: a one-folder app (dist/Hearth) and an installable tarball
# (dist/hearth-<version>-linux-x86_64.tar.gz with install.sh).
#
# Everything is built in a dedicated venv ($HEARTH_PACKAGING_CACHE/venv, default
# ~/.cache/hearth-packaging), never the development .venv: the bundle needs llama.cpp built with
# runtime CPU dispatch (packaging/build_llama_cpp.sh), the .venv has a -march=native build.
#
# Environment:
#   PYTHON=python3.11          CPython >= 3.11 built with a shared libpython (PyInstaller)
#   HEARTH_VULKAN=auto|1|0     add the Vulkan GPU plugin (auto: when glslc and headers exist)
#   HEARTH_BUNDLE_STARTER=0|1  put the 253 MB starter model package into the bundle
#   HEARTH_TARBALL=1|0         also make the installable tarball
# First build: ~45 min on 2 cores (llama.cpp CPU variants; + ~15 min Vulkan); then ~3 min.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${HEARTH_PACKAGING_CACHE:-$HOME/.cache/hearth-packaging}
PYTHON=${PYTHON:-python3}
VULKAN=${HEARTH_VULKAN:-auto}
export HEARTH_BUNDLE_STARTER=${HEARTH_BUNDLE_STARTER:-0}
TARBALL=${HEARTH_TARBALL:-1}
VENV="$CACHE/venv"
PY="$VENV/bin/python"
DIST="$ROOT/dist"
WORK="$ROOT/build/pyinstaller"
VERSION=$(sed -n 's/^__version__ = "\(.*\)"/\1/p' "$ROOT/app/__init__.py")
log() { printf '\n== %s\n' "$*" >&2; }

log "Build venv: $VENV"
if [ ! -x "$PY" ]; then
  "$PYTHON" -m venv "$VENV"
  "$PY" -m pip install --quiet --upgrade pip
fi
"$PY" - <<'PYCHECK'
import sys, sysconfig
if sys.version_info < (3, 11):
    sys.exit("error: Python >= 3.11 is needed")
if not sysconfig.get_config_var("Py_ENABLE_SHARED"):
    sys.exit("error: PyInstaller needs a Python built with --enable-shared (libpython3.x.so)")
PYCHECK

log "llama.cpp with runtime CPU dispatch"
WHEEL=$("$ROOT/packaging/build_llama_cpp.sh" "$PY" | tail -1)
"$PY" -m pip install --quiet --force-reinstall --no-deps "$WHEEL"

log "Hearth and PyInstaller"
EXTRA=""
[ "$HEARTH_BUNDLE_STARTER" = "1" ] && EXTRA="[starter]"
"$PY" -m pip install --quiet "$ROOT$EXTRA" "pyinstaller>=6.10" "pillow>=10"
# pip must not have replaced the CPU-dispatch build with a default (-march=native) one.
"$PY" -c "import pathlib, llama_cpp; lib = pathlib.Path(llama_cpp.__file__).parent / 'lib'; assert (lib / 'libggml-cpu-x64.so').exists(), 'llama-cpp-python is not the CPU-dispatch build'"

if [ "$VULKAN" = "auto" ]; then
  if command -v glslc >/dev/null && [ -f /usr/include/vulkan/vulkan.h ]; then VULKAN=1; else VULKAN=0; fi
fi
LIB=$("$PY" -c "import pathlib, llama_cpp; print(pathlib.Path(llama_cpp.__file__).parent / 'lib')")
if [ "$VULKAN" = "1" ]; then
  log "Vulkan GPU plugin"
  PLUGIN=$("$ROOT/packaging/build_vulkan_backend.sh" "$PY" | tail -1)
  cp "$PLUGIN" "$LIB/libggml-vulkan.so"
else
  rm -f "$LIB/libggml-vulkan.so"
  echo "Vulkan plugin not built (HEARTH_VULKAN=$VULKAN); the bundle is CPU-only." >&2
fi

if [ ! -f "$ROOT/resources/icons/hearth.ico" ] || [ ! -f "$ROOT/resources/icons/hearth.icns" ]; then
  log "Icons"
  QT_QPA_PLATFORM=offscreen "$PY" "$ROOT/packaging/make_icons.py"
fi

log "PyInstaller"
rm -rf "$DIST/Hearth"
"$PY" -m PyInstaller --noconfirm --clean --log-level WARN \
  --distpath "$DIST" --workpath "$WORK" "$ROOT/packaging/linux/hearth.spec"
"$DIST/Hearth/hearth" --version
ls "$DIST/Hearth"/libggml-cpu-*.so >/dev/null

if [ "$TARBALL" = "1" ]; then
  log "Tarball"
  NAME="hearth-$VERSION-linux-x86_64"
  STAGE="$ROOT/build/$NAME"
  rm -rf "$STAGE" && mkdir -p "$STAGE/icons"
  cp -a "$DIST/Hearth" "$STAGE/Hearth"
  cp "$ROOT/packaging/linux/install.sh" "$ROOT/packaging/linux/uninstall.sh" "$STAGE/"
  cp "$ROOT/packaging/linux/hearth.desktop" "$ROOT/packaging/linux/hearth-gguf.xml" "$STAGE/"
  cp "$ROOT/resources/icons/"hearth-{16,24,32,48,64,128,256,512}.png "$ROOT/resources/icons/hearth.svg" "$STAGE/icons/"
  cp "$ROOT/packaging/linux/README.txt" "$STAGE/README.txt"
  tar -C "$ROOT/build" -czf "$DIST/$NAME.tar.gz" "$NAME"
  rm -rf "$STAGE"
  echo "$DIST/$NAME.tar.gz"
fi
du -sh "$DIST/Hearth" >&2
