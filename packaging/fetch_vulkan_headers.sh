#!/usr/bin/env bash
# Newer Vulkan and SPIR-V headers for building the Vulkan plugin on Debian 12.
#
# This llama.cpp uses VK_EXT_layer_settings (Vulkan headers >= 1.3.261); Debian 12 ships
# 1.3.239, so ggml-vulkan.cpp does not compile against it. The headers are header-only, so
# Debian 13's libvulkan-dev and spirv-headers packages are downloaded with apt (a private apt
# state, the system's sources untouched) and unpacked into the packaging cache, not installed.
# The plugin still links the system's Vulkan loader (libvulkan.so.1), whose ABI is stable.
# Usage: packaging/fetch_vulkan_headers.sh   -> prints the prefix (with usr/include) on the last line.
set -euo pipefail
CACHE=${HEARTH_PACKAGING_CACHE:-$HOME/.cache/hearth-packaging}
SUITE=${HEARTH_VULKAN_HEADERS_SUITE:-trixie}
OUT="$CACHE/vulkan-headers-$SUITE"
if [ -f "$OUT/usr/include/vulkan/vulkan_structs.hpp" ] && [ -d "$OUT/usr/share/cmake/SPIRV-Headers" ]; then
  echo "$OUT"; exit 0
fi
APT="$CACHE/apt-$SUITE"
mkdir -p "$APT/lists/partial" "$APT/cache/archives/partial" "$OUT"
echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian $SUITE main" > "$APT/sources.list"
OPTS=(-o "Dir::Etc::SourceList=$APT/sources.list" -o Dir::Etc::SourceParts=/dev/null
      -o "Dir::State::Lists=$APT/lists" -o "Dir::Cache=$APT/cache")
apt-get "${OPTS[@]}" update >&2
( cd "$APT" && apt-get "${OPTS[@]}" download libvulkan-dev spirv-headers >&2 )
for deb in "$APT"/libvulkan-dev_*.deb "$APT"/spirv-headers_*.deb; do dpkg -x "$deb" "$OUT"; done
echo "$OUT"
