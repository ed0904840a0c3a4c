"""Human-readable sizes and times for people (decimal units, as file managers and the Hub
show them)."""

from __future__ import annotations


def human_size(n_bytes: float) -> str:
    """``253123456`` → ``"253.1 MB"``."""
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(n_bytes) < 1000 or unit == "TB":
            return f"{n_bytes:.0f} {unit}" if unit == "B" else f"{n_bytes:.1f} {unit}"
        n_bytes /= 1000
    return f"{n_bytes:.1f} TB"


def human_time_left(seconds: float | None, *, compact: bool = False) -> str:
    """``3725`` → ``"1 h 02 min left"`` (``"1h02m left"`` compact, for a terminal line)."""
    if seconds is None:
        return ""
    s = int(seconds)
    h, m, sec = ("h", "m", "s") if compact else (" h", " min", " s")
    gap = "" if compact else " "
    if s >= 3600:
        return f"{s // 3600}{h}{gap}{s % 3600 // 60:02d}{m} left"
    if s >= 60:
        return f"{s // 60}{m}{gap}{s % 60:02d}{sec} left"
    return f"{s}{sec} left"
