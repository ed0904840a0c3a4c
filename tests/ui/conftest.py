"""Fixtures shared by the UI tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from app.backend.core import HearthCore
from app.ui.app import HearthApp


@pytest.fixture
def make_app(qtbot) -> Iterator[Callable[[], HearthApp]]:  # type: ignore[no-untyped-def]
    """Opens the whole window over a core on ``HEARTH_HOME``; shut down after the test."""
    apps: list[HearthApp] = []

    def make() -> HearthApp:
        hearth = HearthApp(HearthCore())
        qtbot.addWidget(hearth.window)
        hearth.window.show()
        apps.append(hearth)
        return hearth

    yield make
    for hearth in apps:
        hearth.shutdown()
