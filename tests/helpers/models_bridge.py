"""A ``ModelsBridge`` running on its own QThread, as the app runs it, for the UI tests.

The system keyring is replaced by one that always fails (as on a headless machine), so no
test ever reads or writes the real one.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import keyring
import pytest
from keyring.backends import fail
from PySide6.QtCore import QThread

from app.backend.core import HearthCore
from app.backend.planner import Resources
from app.ui.models_bridge import ModelsBridge


@contextmanager
def models_bridge_on_thread(
    resources: Resources | None = None, *, start_downloads: bool = True
) -> Iterator[ModelsBridge]:
    """A bridge over a fresh ``HearthCore`` (data root from ``HEARTH_HOME``); ``resources``
    fixes the machine the fit verdicts are computed for."""
    original = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    core = HearthCore()
    bridge = ModelsBridge(core, start_downloads=start_downloads)
    if resources is not None:
        bridge._resources = resources
    thread = QThread()
    bridge.moveToThread(thread)
    thread.start()
    try:
        yield bridge
    finally:
        thread.quit()
        thread.wait(5000)
        bridge.shutdown()
        core.close()
        keyring.set_keyring(original)


@contextmanager
def hub_models_bridge(
    endpoint: str,
    monkeypatch: pytest.MonkeyPatch,
    resources: Resources | None = None,
    *,
    start_downloads: bool = True,
) -> Iterator[ModelsBridge]:
    """``models_bridge_on_thread`` talking to the Hub emulator at ``endpoint``, with no
    ``HF_TOKEN`` from the environment (a real token must never reach a test)."""
    monkeypatch.setenv("HF_ENDPOINT", endpoint)
    monkeypatch.delenv("HF_TOKEN", raising=False)
    with models_bridge_on_thread(resources, start_downloads=start_downloads) as bridge:
        yield bridge
