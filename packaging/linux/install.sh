#!/bin/sh
# Install Hearth for the current user (no root needed):
#   the app            -> ~/.local/opt/hearth        (or $HEARTH_PREFIX)
#   the command        -> ~/.local/bin/hearth        (symlink)
#   menu entry, icons, .gguf file type -> ~/.local/share/{applications,icons,mime}
# Run it from the unpacked tarball: ./install.sh    Remove with: ./uninstall.sh
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
DATA=${XDG_DATA_HOME:-$HOME/.local/share}
PREFIX=${HEARTH_PREFIX:-$HOME/.local/opt/hearth}
BIN=${HEARTH_BIN_DIR:-$HOME/.local/bin}

if [ ! -x "$HERE/Hearth/hearth" ]; then
  echo "install.sh: run me from the unpacked Hearth folder (Hearth/hearth not found)" >&2
  exit 1
fi
case "$(uname -m)" in
  x86_64|amd64) ;;
  *) echo "install.sh: this build is for x86-64 Linux, not $(uname -m)" >&2; exit 1 ;;
esac

echo "Installing Hearth into $PREFIX"
mkdir -p "$PREFIX" "$BIN" "$DATA/applications" "$DATA/mime/packages"
# Replace an older version as a whole, never mixing files from two versions.
rm -rf "$PREFIX/Hearth.new"
cp -a "$HERE/Hearth" "$PREFIX/Hearth.new"
rm -rf "$PREFIX/Hearth"
mv "$PREFIX/Hearth.new" "$PREFIX/Hearth"
cp "$HERE/uninstall.sh" "$PREFIX/uninstall.sh"
ln -sf "$PREFIX/Hearth/hearth" "$BIN/hearth"

for size in 16 24 32 48 64 128 256 512; do
  dir="$DATA/icons/hicolor/${size}x${size}/apps"
  mkdir -p "$dir"
  cp "$HERE/icons/hearth-$size.png" "$dir/hearth.png"
done
mkdir -p "$DATA/icons/hicolor/scalable/apps"
cp "$HERE/icons/hearth.svg" "$DATA/icons/hicolor/scalable/apps/hearth.svg"

# The menu entry points at the installed executable (not at a PATH that may lack ~/.local/bin).
sed -e "s|^Exec=hearth |Exec=\"$PREFIX/Hearth/hearth\" |" \
    -e "s|^TryExec=hearth$|TryExec=$PREFIX/Hearth/hearth|" \
    "$HERE/hearth.desktop" > "$DATA/applications/hearth.desktop"
chmod 644 "$DATA/applications/hearth.desktop"
cp "$HERE/hearth-gguf.xml" "$DATA/mime/packages/hearth-gguf.xml"

# Refresh the desktop's caches where the tools exist (all optional).
command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database -q "$DATA/applications" || true
command -v update-mime-database >/dev/null 2>&1 && update-mime-database "$DATA/mime" >/dev/null 2>&1 || true
command -v gtk-update-icon-cache >/dev/null 2>&1 && gtk-update-icon-cache -q -t -f "$DATA/icons/hicolor" || true
command -v xdg-mime >/dev/null 2>&1 && xdg-mime default hearth.desktop application/x-gguf 2>/dev/null || true

echo "Done. Start Hearth from your applications menu, or run: hearth"
case ":$PATH:" in
  *":$BIN:"*) ;;
  *) echo "Note: $BIN is not on your PATH; add it to use the 'hearth' command in a terminal." ;;
esac
echo "Your chats and models live in ${HEARTH_HOME:-$DATA/Hearth} and are kept by uninstall.sh."
