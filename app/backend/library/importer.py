"""Bringing a GGUF file into the library (copy, move or link) and taking one out.

An import is checked before it lands (a broken or non-GGUF file is refused with the
reader's message) and is copied under a temporary name that is not ``*.gguf``, so a half
copy never shows up as a model. Split models travel with all their parts.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Literal

from app.backend.gguf import validate_model_file
from app.backend.library.ids import SPLIT_PATTERN, quant_from_name, split_part

ImportMode = Literal["copy", "move", "link"]


class ImportError_(Exception):
    """The file can't be imported; ``str()`` says why, for the user."""


def split_siblings(path: Path) -> list[Path]:
    """All parts of a split model (in order), or just ``path``."""
    part = split_part(path.name)
    if part is None:
        return [path]
    stem = SPLIT_PATTERN.sub("", path.stem)
    total = part[1]
    return [path.with_name(f"{stem}-{i:05d}-of-{total:05d}.gguf") for i in range(1, total + 1)]


def default_place(path: Path) -> tuple[str, str]:
    """``(publisher, repo)`` for a file from elsewhere: ``local/<name without quant>``."""
    stem = SPLIT_PATTERN.sub("", path.stem)
    quant = quant_from_name(path.name)
    if quant:
        idx = stem.upper().rfind(quant)
        if idx > 0:
            stem = stem[:idx].rstrip("-_. ") or stem
    return "local", stem or "model"


def import_model(
    source: Path,
    models_folder: Path,
    mode: ImportMode = "copy",
    *,
    publisher: str | None = None,
    repo: str | None = None,
) -> Path:
    """Put ``source`` (and its split siblings) under ``models_folder/publisher/repo/``."""
    source = source.expanduser()
    if not source.is_file():
        raise ImportError_(f"{source} is not a file.")
    if source.suffix.lower() != ".gguf":
        raise ImportError_(f"{source.name} is not a .gguf file.")
    parts = split_siblings(source)
    missing = [p.name for p in parts if not p.is_file()]
    if missing:
        raise ImportError_(f"Parts of this split model are missing: {', '.join(missing)}.")
    if split_part(source.name) is None or split_part(source.name) == (1, len(parts)):
        try:
            validate_model_file(parts[0], allow_mmproj=True)
        except Exception as exc:
            raise ImportError_(str(exc)) from None
    default_pub, default_repo = default_place(parts[0])
    folder = models_folder / (publisher or default_pub) / (repo or default_repo)
    folder.mkdir(parents=True, exist_ok=True)
    for p in parts:
        target = folder / p.name
        if target.exists() or target.is_symlink():
            raise ImportError_(f"{target} already exists in the library.")
    for p in parts:
        _place(p, folder / p.name, mode)
    return folder / parts[0].name


def _place(src: Path, target: Path, mode: ImportMode) -> None:
    if mode == "link":
        os.symlink(src.resolve(), target)
        return
    if mode == "move":
        try:
            os.replace(src, target)
            return
        except OSError:
            pass  # another disk: copy, then remove the original
    tmp = target.with_name(f".{target.name}.importing")
    try:
        shutil.copyfile(src, tmp)
        os.replace(tmp, target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise ImportError_(f"Could not copy {src.name}: {exc.strerror}.") from None
    if mode == "move":
        src.unlink()


def delete_model(path: Path, folders: list[Path]) -> list[Path]:
    """Delete a model file and its split parts; links are removed, not their targets.

    Only files inside one of ``folders`` may be deleted. Empty ``publisher/repo`` folders
    left behind are removed too. Returns what was deleted.
    """
    roots = [f.resolve() for f in folders]
    here = path.parent.resolve()
    owner = next((r for r in roots if r == here or r in here.parents), None)
    if owner is None:
        raise ImportError_(f"{path} is not inside a models folder; not deleting it.")
    removed = []
    for p in split_siblings(path):
        if p.exists() or p.is_symlink():
            p.unlink()
            removed.append(p)
    parent = path.parent
    while parent.resolve() != owner and owner in parent.resolve().parents:
        try:
            parent.rmdir()  # only succeeds when empty
        except OSError:
            break
        parent = parent.parent
    return removed
