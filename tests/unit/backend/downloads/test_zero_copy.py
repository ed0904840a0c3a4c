"""The splice path on its own: that it is taken, hashes across windows and resumes, and
that each half falls back to copying when the kernel refuses it."""

from __future__ import annotations

import errno
import hashlib
import os
import stat
import sys
import threading
from pathlib import Path

import pytest

from app.backend.downloads import DownloadSpec, TransientError, transfer, zero_copy
from app.backend.downloads.types import Stopped
from app.backend.hub import HubClient, http
from tests.helpers.hub_emulator import Fault, HubEmulator

REPO = "acme/zero-GGUF"
NAME = "m-F32.gguf"

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="splice(2) is Linux-only")


def _spec(hub: HubEmulator, data: bytes) -> DownloadSpec:
    url = HubClient(endpoint=hub.endpoint).resolve_url(REPO, NAME)
    return DownloadSpec(REPO, NAME, url, len(data), hashlib.sha256(data).hexdigest(), NAME)


def _fetch(spec: DownloadSpec, part: Path, stop: threading.Event | None = None) -> str:
    result = transfer.fetch(
        spec, part, headers={}, stop=stop or threading.Event(), on_progress=lambda _n: None
    )
    return result.sha256


@pytest.fixture
def served(hub: HubEmulator, gguf_medium: Path) -> tuple[DownloadSpec, bytes]:
    data = gguf_medium.read_bytes()
    hub.add_repo(REPO, {NAME: gguf_medium})
    return _spec(hub, data), data


def test_plain_http_bodies_are_spliced(
    served: tuple[DownloadSpec, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    spec, _ = served
    with http.request("GET", spec.url) as resp:
        assert zero_copy.usable(resp)
        monkeypatch.setattr(zero_copy, "ENABLED", False)
        assert not zero_copy.usable(resp)


def test_hash_spans_many_windows_and_a_resume_at_an_odd_offset(
    served: tuple[DownloadSpec, bytes], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec, data = served
    monkeypatch.setattr(zero_copy, "WINDOW", 96 * 1024)  # ~50 windows over the file
    calls: list[int] = []
    real_copy = zero_copy.copy
    monkeypatch.setattr(zero_copy, "copy", lambda *a, **k: calls.append(a[3]) or real_copy(*a, **k))
    part = tmp_path / "m.part"
    part.write_bytes(data[:12_345])  # not page-aligned: the first window maps from below
    assert _fetch(spec, part) == spec.sha256
    assert part.read_bytes() == data
    assert calls == [12_345]


def _refusing_splice(monkeypatch: pytest.MonkeyPatch, refuse_socket: bool) -> list[str]:
    refused: list[str] = []
    real = os.splice

    def splice(src: int, dst: int, count: int, *args: object, **kwargs: object) -> int:
        from_socket = stat.S_ISSOCK(os.fstat(src).st_mode)
        if from_socket == refuse_socket:
            refused.append("socket" if from_socket else "file")
            raise OSError(errno.EINVAL, os.strerror(errno.EINVAL))
        return real(src, dst, count, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "splice", splice)
    return refused


@pytest.mark.parametrize("refuse_socket", [True, False], ids=["socket-refused", "file-refused"])
def test_a_refused_splice_falls_back_to_copying(
    served: tuple[DownloadSpec, bytes],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    refuse_socket: bool,
) -> None:
    spec, data = served
    refused = _refusing_splice(monkeypatch, refuse_socket)
    part = tmp_path / "m.part"
    assert _fetch(spec, part) == spec.sha256
    assert part.read_bytes() == data
    assert refused == ["socket" if refuse_socket else "file"]  # tried once, then copied


def test_a_drop_keeps_what_arrived(
    served: tuple[DownloadSpec, bytes], hub: HubEmulator, tmp_path: Path
) -> None:
    spec, data = served
    hub.fault(REPO, NAME, Fault(drop_after=1_000_003, reset_after=True, times=1))
    part = tmp_path / "m.part"
    with pytest.raises(TransientError):
        _fetch(spec, part)
    kept = part.read_bytes()
    assert 0 < len(kept) <= 1_000_003 and kept == data[: len(kept)]
    assert _fetch(spec, part) == spec.sha256  # the resume completes it
    assert part.read_bytes() == data


def test_stop_ends_the_transfer_and_keeps_a_prefix(
    served: tuple[DownloadSpec, bytes], hub: HubEmulator, tmp_path: Path
) -> None:
    spec, data = served
    hub.fault(REPO, NAME, Fault(rate_bps=1_000_000, times=1))
    stop = threading.Event()
    part = tmp_path / "m.part"

    def on_open(resp: http.Response | None) -> None:
        if resp is not None:
            threading.Timer(0.3, lambda: (stop.set(), resp.abort())).start()

    with pytest.raises(Stopped):
        transfer.fetch(
            spec, part, headers={}, stop=stop, on_progress=lambda _n: None, on_open=on_open
        )
    kept = part.read_bytes()
    assert 0 < len(kept) < len(data) and kept == data[: len(kept)]
