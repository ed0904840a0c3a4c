"""With "Local only" on, nothing leaves the machine: no Hub requests, no downloads."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from app.backend.core import HearthCore
from app.backend.downloads import DownloadSpec
from app.backend.hub import HubClient, HubError
from app.backend.paths import DataPaths
from tests.helpers.hub_emulator import HubEmulator

REPO = "acme/tiny-GGUF"


def _core(root: Path, local_only: bool) -> HearthCore:
    core = HearthCore(DataPaths(root))
    core.settings.privacy.local_only = local_only
    return core


def test_hub_is_refused_while_local_only(
    hub: HubEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_ENDPOINT", hub.endpoint)
    core = _core(tmp_path / "home", local_only=True)
    with pytest.raises(HubError, match="Local only"):
        core.hub()
    core.settings.privacy.local_only = False
    assert isinstance(core.hub(), HubClient)
    core.close()


def test_downloads_fail_with_the_reason_and_leave_nothing(
    hub: HubEmulator, gguf_small: bytes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_ENDPOINT", hub.endpoint)
    hub.add_repo(REPO, {"tiny-Q8_0.gguf": gguf_small})
    core = _core(tmp_path / "home", local_only=True)
    requests_before = len(hub.requests) if hasattr(hub, "requests") else None
    spec = DownloadSpec(
        repo_id=REPO,
        filename="tiny-Q8_0.gguf",
        url=HubClient(endpoint=hub.endpoint).resolve_url(REPO, "tiny-Q8_0.gguf"),
        size=len(gguf_small),
        sha256=hashlib.sha256(gguf_small).hexdigest(),
        dest=f"{REPO}/tiny-Q8_0.gguf",
    )
    manager = core.downloads
    rid = manager.enqueue(spec).id
    manager.start()
    (record,) = manager.wait([rid], timeout=30)
    assert record.status == "failed"
    assert "Local only" in (record.error or "")
    assert not list((tmp_path / "home" / "models").rglob("*.gguf"))
    if requests_before is not None:
        assert len(hub.requests) == requests_before
    manager.shutdown()
    core.close()
