"""The local-only switch: one rule every network feature asks."""

from __future__ import annotations

import pytest

from app.backend.core import HearthCore
from app.backend.privacy import LocalOnlyError, PrivacyGuard, is_local_only, require_network
from app.backend.settings import Settings


def test_off_by_default_and_refuses_when_on() -> None:
    settings = Settings()
    assert not is_local_only(settings)
    require_network(settings, "Hub search")  # no error
    settings.privacy.local_only = True
    assert is_local_only(settings)
    with pytest.raises(LocalOnlyError, match="Hub search is off because Local only is on"):
        require_network(settings, "Hub search")
    assert not is_local_only(object())  # tolerant of odd objects


def test_guard_reads_the_current_settings() -> None:
    box = [Settings()]
    guard = PrivacyGuard(lambda: box[0])
    guard.check("Downloads")
    box[0] = Settings()
    box[0].privacy.local_only = True
    assert guard.local_only
    with pytest.raises(LocalOnlyError) as info:
        guard.check("Downloads")
    assert info.value.what == "Downloads"


def test_core_wires_the_guard_and_remote_engines_honour_it() -> None:
    core = HearthCore()
    try:
        core.remotes.save("lab", "http://127.0.0.1:9/v1")
        core.settings.privacy.local_only = True
        with pytest.raises(LocalOnlyError):
            core.remotes.list_all()
        with pytest.raises(LocalOnlyError):
            core.remotes.engine("remote:lab/x")
        core.settings.privacy.local_only = False
        assert core.remotes.list_all().errors["lab"]  # allowed again (nothing listens on :9)
    finally:
        core.close()
