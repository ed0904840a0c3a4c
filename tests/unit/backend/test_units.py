"""Sizes and times as people read them (the Downloads panel and `hearth pull` share these)."""

from __future__ import annotations

import pytest

from app.backend.units import human_size, human_time_left


@pytest.mark.parametrize(
    ("seconds", "long", "compact"),
    [
        (None, "", ""),
        (0, "0 s left", "0s left"),
        (59.9, "59 s left", "59s left"),
        (60, "1 min 00 s left", "1m00s left"),
        (3599, "59 min 59 s left", "59m59s left"),
        (3725, "1 h 02 min left", "1h02m left"),
        (90_000, "25 h 00 min left", "25h00m left"),
    ],
)
def test_time_left(seconds: float | None, long: str, compact: str) -> None:
    assert human_time_left(seconds) == long
    assert human_time_left(seconds, compact=True) == compact


def test_sizes_use_decimal_units_like_the_hub() -> None:
    assert human_size(999) == "999 B"
    assert human_size(253_123_456) == "253.1 MB"
    assert human_size(5 * 10**15) == "5000.0 TB"
