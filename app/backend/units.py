"""Human-readable sizes for people (decimal units, as file managers and the Hub show them)."""

from __future__ import annotations


def human_size(n_bytes: float) -> str:
    """``253123456`` → ``"253.1 MB"``."""
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(n_bytes) < 1000 or unit == "TB":
            return f"{n_bytes:.0f} {unit}" if unit == "B" else f"{n_bytes:.1f} {unit}"
        n_bytes /= 1000
    return f"{n_bytes:.1f} TB"
