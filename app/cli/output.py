"""Small helpers shared by subcommands: errors to stderr, human sizes."""

from __future__ import annotations

import sys

from app.backend.units import human_size

__all__ = ["fail", "human_count", "human_size"]


def fail(message: str, code: int = 1) -> int:
    print(f"hearth: {message}", file=sys.stderr)
    return code


def human_count(n: int) -> str:
    if n >= 1_000_000_000:
        return f"{n / 1e9:.1f}B"
    if n >= 1_000_000:
        return f"{n / 1e6:.0f}M"
    return str(n)
