"""Downloads as a user lives them: `hearth pull` killed and rerun, bad bytes, a full disk,
no network. Real processes, real sockets (the Hub emulator), a real tmpfs."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.backend.downloads import DownloadManager, DownloadSpec
from app.backend.hub import HubClient
from tests.helpers.gguf_factory import write_tiny_llama
from tests.helpers.hub_emulator import Fault, HubEmulator, gguf_medium, gguf_small, hub

__all__ = ["gguf_medium", "gguf_small", "hub"]
REPO = "acme/medium-GGUF"


def _env(home: Path, hub_endpoint: str) -> dict[str, str]:
    env = dict(os.environ, HEARTH_HOME=str(home), HF_ENDPOINT=hub_endpoint)
    env.pop("HF_TOKEN", None)
    return env


def _pull(home: Path, endpoint: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app", "pull", *args],
        env=_env(home, endpoint),
        capture_output=True,
        text=True,
        timeout=120,
    )


def _partial_size(home: Path) -> int:
    return sum(p.stat().st_size for p in (home / "downloads").glob("*.part"))


def _wait_for(predicate, timeout: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.02)


def _kill_pull_midway(home: Path, endpoint: str, at_least: int) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "app", "pull", f"{REPO}:F32"],
        env=_env(home, endpoint),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for(lambda: (home / "downloads").exists() and _partial_size(home) >= at_least)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)


def test_pull_killed_twice_resumes_with_the_right_hash(
    hub: HubEmulator, gguf_medium: Path, isolated_home: Path
) -> None:
    hub.add_repo(REPO, {"medium-F32.gguf": gguf_medium})
    hub.fault(REPO, "medium-F32.gguf", Fault(rate_bps=3_000_000))
    _kill_pull_midway(isolated_home, hub.endpoint, 1_000_000)
    assert not list((isolated_home / "models").rglob("*.gguf"))  # nothing half-installed
    first = _partial_size(isolated_home)
    _kill_pull_midway(isolated_home, hub.endpoint, first + 500_000)
    # Even without the state file, the partial file is found again (ids come from the spec).
    (isolated_home / "downloads" / "state.json").unlink()
    hub.fault(REPO, "medium-F32.gguf", None)
    result = _pull(isolated_home, hub.endpoint, f"{REPO}:F32")
    assert result.returncode == 0, result.stderr
    installed = isolated_home / "models" / REPO / "medium-F32.gguf"
    assert result.stdout.strip() == str(installed)
    want = hashlib.sha256(gguf_medium.read_bytes()).hexdigest()
    assert hashlib.sha256(installed.read_bytes()).hexdigest() == want
    ranges = [r.headers.get("range") for r in hub.gets("medium-F32.gguf")]
    assert ranges[0] is None and all(r and r.startswith("bytes=") for r in ranges[1:])
    assert int(ranges[-1].removeprefix("bytes=").rstrip("-")) > first  # type: ignore[union-attr]
    assert not list((isolated_home / "downloads").glob("*.part"))


def test_pull_rejects_a_flipped_byte(
    hub: HubEmulator, gguf_small: bytes, isolated_home: Path
) -> None:
    hub.add_repo("acme/tiny-GGUF", {"tiny-Q8_0.gguf": gguf_small})
    hub.fault("acme/tiny-GGUF", "tiny-Q8_0.gguf", Fault(flip_byte_at=len(gguf_small) // 2))
    result = _pull(isolated_home, hub.endpoint, "acme/tiny-GGUF:Q8_0")
    assert result.returncode == 3
    assert "failed verification" in result.stderr
    assert not list(isolated_home.rglob("*.gguf"))  # quarantined without a .gguf name
    assert list((isolated_home / "downloads" / "quarantine").glob("*.bad"))
    ls = subprocess.run(
        [sys.executable, "-m", "app", "ls"],
        env=_env(isolated_home, hub.endpoint),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "tiny" not in ls.stdout


def test_pull_errors_are_clear(hub: HubEmulator, gguf_small: bytes, isolated_home: Path) -> None:
    hub.add_repo("acme/tiny-GGUF", {"tiny-Q8_0.gguf": gguf_small})
    hub.add_repo("meta/gated-GGUF", {"g-Q4_K_M.gguf": gguf_small}, gated=True)
    missing = _pull(isolated_home, hub.endpoint, "acme/tiny-GGUF:Q2_K")
    assert missing.returncode == 1 and "available: Q8_0" in missing.stderr
    gated = _pull(isolated_home, hub.endpoint, "meta/gated-GGUF")
    assert gated.returncode == 1 and "token" in gated.stderr
    env_token = subprocess.run(
        [sys.executable, "-m", "app", "pull", "meta/gated-GGUF"],
        env={**_env(isolated_home, hub.endpoint), "HF_TOKEN": hub.token},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert env_token.returncode == 0, env_token.stderr


@pytest.fixture
def small_disk(isolated_home: Path) -> Iterator[Path]:
    """A 3 MiB tmpfs mounted as the data root: a disk that really fills up."""
    isolated_home.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(isolated_home)],
        capture_output=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield isolated_home
    finally:
        subprocess.run(["umount", "-l", str(isolated_home)], check=False)


def test_full_disk_preflight_refuses_clearly(
    hub: HubEmulator, gguf_medium: Path, small_disk: Path
) -> None:
    hub.add_repo(REPO, {"medium-F32.gguf": gguf_medium})
    result = _pull(small_disk, hub.endpoint, f"{REPO}:F32")
    assert result.returncode == 1
    assert "Not enough disk space" in result.stderr
    assert not list(small_disk.rglob("*.gguf")) and not list(small_disk.rglob("*.part"))


def test_disk_filling_up_mid_download(hub: HubEmulator, tmp_path: Path, small_disk: Path) -> None:
    model = write_tiny_llama(tmp_path / "m.gguf", n_layers=2, n_embd=96, seed=5)  # ~1.8 MB
    data = model.read_bytes()
    assert 1_000_000 < len(data) < 2_500_000
    hub.add_repo(REPO, {"m-F32.gguf": model})
    hub.fault(REPO, "m-F32.gguf", Fault(rate_bps=2_000_000, times=1))
    m = DownloadManager(small_disk / "downloads", small_disk / "models", space_margin=0)
    spec = DownloadSpec(
        REPO, "m-F32.gguf", HubClient(endpoint=hub.endpoint).resolve_url(REPO, "m-F32.gguf"),
        len(data), hashlib.sha256(data).hexdigest(), f"{REPO}/m-F32.gguf",
    )  # fmt: skip
    m.start()
    rid = m.enqueue(spec).id
    _wait_for(lambda: m.part_path(rid).exists() and m.part_path(rid).stat().st_size > 200_000)
    filler = small_disk / "filler.bin"
    with open(filler, "wb") as f:  # another program takes the rest of the disk
        try:
            while True:
                f.write(b"\0" * 65536)
        except OSError:
            pass
    (rec,) = m.wait([rid], timeout=30)
    assert rec.status == "failed"
    assert "is full" in rec.error and "Resume" in rec.error
    assert not list((small_disk / "models").rglob("*.gguf"))
    kept = m.part_path(rid).stat().st_size
    assert 0 < kept < len(data)
    filler.unlink()  # the user frees space and presses Resume
    m.resume(rid)
    (rec,) = m.wait([rid], timeout=30)
    assert rec.status == "completed", rec.error
    assert Path(rec.installed_path).read_bytes() == data
    m.shutdown()


def test_offline_start_lists_and_runs_installed_models(isolated_home: Path) -> None:
    write_tiny_llama(isolated_home / "models" / "acme" / "tiny-llama" / "tiny-llama-F32.gguf")
    dead = "http://127.0.0.1:9"  # nothing listens there: no network
    env = {**_env(isolated_home, dead), "HF_HUB_OFFLINE": "0"}
    ls = subprocess.run(
        [sys.executable, "-m", "app", "ls"], env=env, capture_output=True, text=True, timeout=60
    )
    assert ls.returncode == 0 and "acme/tiny-llama/F32" in ls.stdout
    run = subprocess.run(
        [sys.executable, "-m", "app", "run", "acme/tiny-llama/F32", "hi", "--max-tokens", "4"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    pull = _pull(isolated_home, dead, "acme/tiny-llama")
    assert pull.returncode == 1 and "not reachable" in pull.stderr
