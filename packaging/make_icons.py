"""Write Hearth's icon files into ``resources/icons`` from the drawing in ``app.ui.app_icon``.

Outputs: PNGs at 16..512 px (Linux hicolor theme, the .desktop entry, PyInstaller), an SVG
(hicolor "scalable"), ``hearth.ico`` (Windows: 16..256 in one file) and ``hearth.icns``
(macOS: 16..512 plus @2x). ICO and ICNS are written by Pillow when it is installed (the
packaging venv has it; the app does not need it), and the files are committed, so a normal
checkout never has to run this. Run: ``python packaging/make_icons.py [out_dir]``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from PySide6.QtCore import QRectF, QSize  # noqa: E402
from PySide6.QtGui import QGuiApplication, QPainter  # noqa: E402
from PySide6.QtSvg import QSvgGenerator  # noqa: E402

from app.ui.app_icon import ICON_SIZES, icon_pixmap, paint_app_icon  # noqa: E402

ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
ICNS_SIZES = (16, 32, 64, 128, 256, 512, 1024)


def write_pngs(out: Path) -> list[Path]:
    written = []
    for size in (*ICON_SIZES, 1024):
        path = out / f"hearth-{size}.png"
        if not icon_pixmap(size).save(str(path), "PNG"):
            raise OSError(f"could not write {path}")
        written.append(path)
    return written


def write_svg(out: Path) -> Path:
    path = out / "hearth.svg"
    generator = QSvgGenerator()
    generator.setFileName(str(path))
    generator.setSize(QSize(512, 512))
    generator.setViewBox(QRectF(0, 0, 512, 512))
    generator.setTitle("Hearth")
    generator.setDescription("Hearth app icon")
    painter = QPainter(generator)
    paint_app_icon(painter, 512)
    painter.end()
    return path


def write_ico_icns(out: Path) -> list[Path]:
    try:
        from PIL import Image
    except ImportError:
        print("Pillow is not installed: skipping hearth.ico and hearth.icns", file=sys.stderr)
        return []
    big = Image.open(out / "hearth-1024.png").convert("RGBA")
    ico = out / "hearth.ico"
    # Each size is drawn, not downscaled: the small ones use a tighter margin.
    frames = [Image.open(out / f"hearth-{s}.png").convert("RGBA") for s in ICO_SIZES]
    frames[-1].save(ico, format="ICO", sizes=[(s, s) for s in ICO_SIZES], append_images=frames)
    icns = out / "hearth.icns"
    extra = [Image.open(out / f"hearth-{s}.png").convert("RGBA") for s in ICNS_SIZES[:-1]]
    big.save(icns, format="ICNS", append_images=extra)
    return [ico, icns]


def main(argv: list[str]) -> int:
    out = Path(argv[1]) if len(argv) > 1 else ROOT / "resources" / "icons"
    out.mkdir(parents=True, exist_ok=True)
    app = QGuiApplication.instance() or QGuiApplication([])
    files = [*write_pngs(out), write_svg(out), *write_ico_icns(out)]
    del app
    for path in files:
        print(f"{path.relative_to(out.parent) if path.is_relative_to(out.parent) else path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
