#!/bin/sh
# Remove what install.sh added. Chats, settings and models (the data folder) are kept;
# pass --purge to delete them too.
set -eu
DATA=${XDG_DATA_HOME:-$HOME/.local/share}
PREFIX=${HEARTH_PREFIX:-$HOME/.local/opt/hearth}
BIN=${HEARTH_BIN_DIR:-$HOME/.local/bin}

if [ -L "$BIN/hearth" ] && [ "$(readlink "$BIN/hearth")" = "$PREFIX/Hearth/hearth" ]; then
  rm -f "$BIN/hearth"
fi
rm -rf "$PREFIX/Hearth" "$PREFIX/Hearth.new"
rm -f "$PREFIX/uninstall.sh"
rmdir "$PREFIX" 2>/dev/null || true
rm -f "$DATA/applications/hearth.desktop" "$DATA/mime/packages/hearth-gguf.xml"
for dir in "$DATA"/icons/hicolor/*/apps; do
  rm -f "$dir/hearth.png" "$dir/hearth.svg"
done
command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database -q "$DATA/applications" || true
command -v update-mime-database >/dev/null 2>&1 && update-mime-database "$DATA/mime" >/dev/null 2>&1 || true
command -v gtk-update-icon-cache >/dev/null 2>&1 && gtk-update-icon-cache -q -t -f "$DATA/icons/hicolor" || true

if [ "${1:-}" = "--purge" ]; then
  rm -rf "${HEARTH_HOME:-$DATA/Hearth}"
  echo "Hearth and its data folder were removed."
else
  echo "Hearth was removed. Your data folder (${HEARTH_HOME:-$DATA/Hearth}) was kept."
fi
