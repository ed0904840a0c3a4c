"""The download queue against the emulator: faults, pause/resume, cancel, restart, verify."""

from __future__ import annotations

import hashlib
import threading
import time
from pathlib import Path

import pytest

from app.backend.downloads import (
    DiskFullError,
    DownloadManager,
    DownloadRecord,
    DownloadSpec,
    zero_copy,
)
from app.backend.hub import HubClient
from tests.helpers.hub_emulator import Fault, HubEmulator

REPO = "acme/tiny-GGUF"


@pytest.fixture(autouse=True, params=["zero-copy", "buffered"])
def copy_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every test runs both ways bytes reach the file: splice (Linux, plain HTTP, the
    default here) and the buffered reader (TLS, chunked bodies, other systems)."""
    monkeypatch.setattr(zero_copy, "ENABLED", request.param == "zero-copy")
    return str(request.param)


def _spec(hub: HubEmulator, name: str, data: bytes | Path, token: bool = False) -> DownloadSpec:
    content = data.read_bytes() if isinstance(data, Path) else data
    client = HubClient(endpoint=hub.endpoint)
    return DownloadSpec(
        repo_id=REPO,
        filename=name,
        url=client.resolve_url(REPO, name),
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        dest=f"{REPO}/{name}",
    )


def _manager(root: Path, **kw: object) -> DownloadManager:
    kw.setdefault("backoff_s", (0.01, 0.05))
    return DownloadManager(root / "downloads", root / "models", **kw)  # type: ignore[arg-type]


def _until(predicate, timeout: float = 20.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.01)


def _done(m: DownloadManager, rid: str, timeout: float = 30) -> DownloadRecord:
    (rec,) = m.wait([rid], timeout=timeout)
    return rec


def _no_gguf_outside_library(root: Path) -> None:
    stray = [p for p in root.rglob("*.gguf") if (root / "models") not in p.parents]
    assert stray == []


def test_download_installs_a_verified_file(hub: HubEmulator, gguf_small: bytes, tmp_path: Path):
    hub.add_repo(REPO, {"t-Q8_0.gguf": gguf_small})
    m = _manager(tmp_path)
    seen: list[str] = []
    m.add_listener(lambda r: seen.append(r.status))
    m.start()
    rec = _done(m, m.enqueue(_spec(hub, "t-Q8_0.gguf", gguf_small)).id)
    assert rec.status == "completed", rec.error
    assert (tmp_path / "models" / REPO / "t-Q8_0.gguf").read_bytes() == gguf_small
    assert {"queued", "downloading", "verifying", "completed"} <= set(seen)
    assert list((tmp_path / "downloads").glob("*.part")) == []
    m.shutdown()


def test_dropped_connections_retry_with_range(
    hub: HubEmulator, gguf_small: bytes, tmp_path: Path
) -> None:
    hub.add_repo(REPO, {"t-Q8_0.gguf": gguf_small})
    hub.fault(REPO, "t-Q8_0.gguf", Fault(drop_after=200_000, times=3))
    m = _manager(tmp_path)
    m.start()
    rec = _done(m, m.enqueue(_spec(hub, "t-Q8_0.gguf", gguf_small)).id)
    assert rec.status == "completed", rec.error
    ranges = [r.headers.get("range") for r in hub.gets("t-Q8_0.gguf")]
    assert ranges == [None, "bytes=200000-", "bytes=400000-", "bytes=600000-"]
    m.shutdown()


def test_connection_reset_mid_file_is_retried(
    hub: HubEmulator, gguf_small: bytes, tmp_path: Path
) -> None:
    """A TCP reset (not a clean close) while reading the body is a retry, not a failure."""
    hub.add_repo(REPO, {"t-Q8_0.gguf": gguf_small})
    hub.fault(REPO, "t-Q8_0.gguf", Fault(drop_after=300_000, reset_after=True, times=1))
    m = _manager(tmp_path)
    m.start()
    rec = _done(m, m.enqueue(_spec(hub, "t-Q8_0.gguf", gguf_small)).id)
    assert rec.status == "completed", rec.error
    assert (tmp_path / "models" / REPO / "t-Q8_0.gguf").read_bytes() == gguf_small
    gets = hub.gets("t-Q8_0.gguf")
    assert len(gets) == 2 and "range" in {k.lower() for k in gets[1].headers}
    m.shutdown()


def test_a_fresh_download_never_truncates_its_file(
    hub: HubEmulator, gguf_small: bytes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ext4 flushes a truncated-then-rewritten file at close (auto_da_alloc): +0.26 s on
    537 MB. Truncate only when the partial file must really be cut (Range ignored)."""
    import os

    calls: list[int] = []
    real = os.ftruncate

    def spy(fd: int, length: int) -> None:
        calls.append(length)
        real(fd, length)

    monkeypatch.setattr(os, "ftruncate", spy)
    hub.add_repo(REPO, {"t-Q8_0.gguf": gguf_small})
    m = _manager(tmp_path)
    m.start()
    rec = _done(m, m.enqueue(_spec(hub, "t-Q8_0.gguf", gguf_small)).id)
    assert rec.status == "completed", rec.error
    assert calls == []
    m.shutdown()


def test_gives_up_after_max_attempts(hub: HubEmulator, gguf_small: bytes, tmp_path: Path):
    hub.add_repo(REPO, {"t-Q8_0.gguf": gguf_small})
    hub.fault(REPO, "t-Q8_0.gguf", Fault(status=503))
    m = _manager(tmp_path, max_attempts=3)
    m.start()
    rec = _done(m, m.enqueue(_spec(hub, "t-Q8_0.gguf", gguf_small)).id)
    assert rec.status == "failed" and "Gave up after 3 tries" in rec.error
    assert len(hub.gets("t-Q8_0.gguf")) == 3
    m.shutdown()


def test_range_ignored_restarts_instead_of_splicing(
    hub: HubEmulator, gguf_small: bytes, tmp_path: Path
) -> None:
    hub.add_repo(REPO, {"t-Q8_0.gguf": gguf_small})
    hub.fault(REPO, "t-Q8_0.gguf", Fault(drop_after=300_000, times=1))
    m = _manager(tmp_path, max_attempts=1)
    m.start()
    rid = m.enqueue(_spec(hub, "t-Q8_0.gguf", gguf_small)).id
    assert _done(m, rid).status == "failed"  # one attempt only: a partial file remains
    assert m.part_path(rid).stat().st_size == 300_000
    hub.fault(REPO, "t-Q8_0.gguf", Fault(ignore_range=True, times=1))
    m.resume(rid)
    rec = _done(m, rid)
    assert rec.status == "completed", rec.error
    assert hub.gets("t-Q8_0.gguf")[-1].status == 200
    assert Path(rec.installed_path).read_bytes() == gguf_small
    m.shutdown()


def test_416_on_resume_starts_over(hub: HubEmulator, gguf_small: bytes, tmp_path: Path):
    hub.add_repo(REPO, {"t-Q8_0.gguf": gguf_small})
    m = _manager(tmp_path)
    spec = _spec(hub, "t-Q8_0.gguf", gguf_small)
    from app.backend.downloads import record_id

    part = m.part_path(record_id(spec))
    part.parent.mkdir(parents=True)
    part.write_bytes(gguf_small[:1000])
    hub.fault(REPO, "t-Q8_0.gguf", Fault(status=416, times=1))
    m.start()
    rec = _done(m, m.enqueue(spec).id)
    assert rec.status == "completed", rec.error
    assert [r.headers.get("range") for r in hub.gets("t-Q8_0.gguf")] == ["bytes=1000-", None]
    m.shutdown()


def test_flipped_byte_is_quarantined(hub: HubEmulator, gguf_small: bytes, tmp_path: Path):
    hub.add_repo(REPO, {"t-Q8_0.gguf": gguf_small})
    hub.fault(REPO, "t-Q8_0.gguf", Fault(flip_byte_at=4321))
    m = _manager(tmp_path)
    m.start()
    rec = _done(m, m.enqueue(_spec(hub, "t-Q8_0.gguf", gguf_small)).id)
    assert rec.status == "quarantined"
    assert "failed verification" in rec.error and "sha256" in rec.error
    bad = Path(rec.quarantine_path)
    assert bad.exists() and bad.suffix == ".bad" and bad.stat().st_size == len(gguf_small)
    assert not (tmp_path / "models").exists() or not list((tmp_path / "models").rglob("*"))
    _no_gguf_outside_library(tmp_path)
    m.shutdown()


def test_cancel_removes_the_partial_file(
    hub: HubEmulator, gguf_medium: Path, tmp_path: Path
) -> None:
    hub.add_repo(REPO, {"m-F32.gguf": gguf_medium})
    hub.fault(REPO, "m-F32.gguf", Fault(rate_bps=2_000_000))
    m = _manager(tmp_path)
    m.start()
    rid = m.enqueue(_spec(hub, "m-F32.gguf", gguf_medium)).id
    _until(lambda: m.part_path(rid).exists() and m.part_path(rid).stat().st_size > 100_000)
    m.cancel(rid)
    _until(lambda: not m.part_path(rid).exists())
    assert m.get(rid).status == "cancelled"
    assert not (tmp_path / "models" / REPO / "m-F32.gguf").exists()
    m.shutdown()


def test_pause_and_resume_twenty_times(hub: HubEmulator, gguf_medium: Path, tmp_path: Path) -> None:
    data = gguf_medium.read_bytes()
    hub.add_repo(REPO, {"m-F32.gguf": gguf_medium})
    hub.fault(REPO, "m-F32.gguf", Fault(rate_bps=1_000_000))  # every GET, resumes included
    m = _manager(tmp_path)
    m.start()
    rid = m.enqueue(_spec(hub, "m-F32.gguf", gguf_medium)).id
    sizes = []
    for _ in range(20):
        before = m.part_path(rid).stat().st_size if m.part_path(rid).exists() else 0
        _until(lambda b=before: m.part_path(rid).exists() and m.part_path(rid).stat().st_size > b)
        m.pause(rid)
        _until(lambda: rid not in m._threads)
        sizes.append(m.part_path(rid).stat().st_size)
        assert m.get(rid).status == "paused"
        m.resume(rid)
    hub.fault(REPO, "m-F32.gguf", None)  # then let it finish at full speed
    rec = _done(m, rid, timeout=60)
    assert rec.status == "completed", rec.error
    assert hashlib.sha256(Path(rec.installed_path).read_bytes()).digest() == (
        hashlib.sha256(data).digest()
    )
    assert sizes == sorted(sizes) and len(set(sizes)) == 20  # progress kept across pauses
    ranged = [r for r in hub.gets("m-F32.gguf") if r.headers.get("range")]
    assert len(ranged) >= 20
    m.shutdown()


def test_restart_resumes_from_persisted_state(
    hub: HubEmulator, gguf_medium: Path, tmp_path: Path
) -> None:
    hub.add_repo(REPO, {"m-F32.gguf": gguf_medium})
    hub.fault(REPO, "m-F32.gguf", Fault(rate_bps=3_000_000, times=1))
    first = _manager(tmp_path)
    first.start()
    rid = first.enqueue(_spec(hub, "m-F32.gguf", gguf_medium)).id
    _until(lambda: first.part_path(rid).exists() and first.part_path(rid).stat().st_size > 10**6)
    first.shutdown()  # like closing the app mid-download
    assert first.get(rid).status == "queued"
    second = _manager(tmp_path)
    assert [r.id for r in second.records()] == [rid]
    second.start()
    rec = _done(second, rid)
    assert rec.status == "completed", rec.error
    assert hub.gets("m-F32.gguf")[-1].headers["range"].startswith("bytes=")
    assert Path(rec.installed_path).read_bytes() == gguf_medium.read_bytes()
    second.shutdown()


def test_concurrency_limit(hub: HubEmulator, gguf_small: bytes, tmp_path: Path) -> None:
    names = [f"t{i}-Q8_0.gguf" for i in range(4)]
    hub.add_repo(REPO, dict.fromkeys(names, gguf_small))
    for n in names:
        hub.fault(REPO, n, Fault(rate_bps=1_500_000))
    m = _manager(tmp_path, max_concurrent=2)
    peak = [0]
    lock = threading.Lock()

    def watch(_r: DownloadRecord) -> None:
        with lock:
            peak[0] = max(peak[0], sum(r.status == "downloading" for r in m.records()))

    m.add_listener(watch)
    m.start()
    ids = [m.enqueue(_spec(hub, n, gguf_small)).id for n in names]
    recs = m.wait(ids, timeout=30)
    assert all(r.status == "completed" for r in recs)
    assert peak[0] == 2
    m.shutdown()


def test_gated_download_without_token_fails_clearly(
    hub: HubEmulator, gguf_small: bytes, tmp_path: Path
) -> None:
    hub.add_repo(REPO, {"t-Q8_0.gguf": gguf_small}, gated=True)
    m = _manager(tmp_path)
    m.start()
    rec = _done(m, m.enqueue(_spec(hub, "t-Q8_0.gguf", gguf_small)).id)
    assert rec.status == "failed" and "token" in rec.error
    authed = _manager(tmp_path / "b", headers=lambda: {"Authorization": f"Bearer {hub.token}"})
    authed.start()
    assert _done(authed, authed.enqueue(_spec(hub, "t-Q8_0.gguf", gguf_small)).id).status == (
        "completed"
    )
    # The token went to the Hub, never to the CDN host.
    assert all("authorization" not in r.headers for r in hub.requests if r.host == "cdn")
    m.shutdown()
    authed.shutdown()


def test_disk_space_preflight(hub: HubEmulator, tmp_path: Path) -> None:
    m = _manager(tmp_path)
    huge = DownloadSpec(REPO, "x.gguf", hub.endpoint + "/x", 1 << 50, None, f"{REPO}/x.gguf")
    with pytest.raises(DiskFullError, match="Not enough disk space"):
        m.enqueue(huge)
    assert m.records() == []


def test_destination_cannot_escape_the_models_folder(
    hub: HubEmulator, gguf_small: bytes, tmp_path: Path
) -> None:
    hub.add_repo(REPO, {"t-Q8_0.gguf": gguf_small})
    spec = _spec(hub, "t-Q8_0.gguf", gguf_small)
    from dataclasses import replace

    m = _manager(tmp_path)
    m.start()
    rec = _done(m, m.enqueue(replace(spec, dest="../../escaped.gguf")).id)
    assert rec.status == "failed" and "outside the models folder" in rec.error
    assert not (tmp_path.parent / "escaped.gguf").exists()
    m.shutdown()
