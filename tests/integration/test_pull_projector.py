"""`hearth pull` fetches a vision model's projector with it, as Discover does (real process,
the Hub emulator on loopback); `--no-mmproj` leaves it out."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.helpers.gguf_factory import ModelSpec, write_model
from tests.helpers.hub_emulator import HubEmulator, gguf_small, hub

__all__ = ["gguf_small", "hub"]
REPO = "acme/vision-GGUF"


def _pull(home: Path, endpoint: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, HEARTH_HOME=str(home), HF_ENDPOINT=endpoint)
    env.pop("HF_TOKEN", None)
    return subprocess.run(
        [sys.executable, "-m", "app", "pull", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_pull_brings_the_projector_unless_told_not_to(
    hub: HubEmulator, gguf_small: bytes, tmp_path: Path
) -> None:
    projector = write_model(
        tmp_path / "mmproj.gguf", ModelSpec(extra_metadata={"general.type": "mmproj"})
    )
    hub.add_repo(REPO, {"v-Q8_0.gguf": gguf_small, "mmproj-v-f16.gguf": projector})

    bare = _pull(tmp_path / "bare", hub.endpoint, f"{REPO}:Q8_0", "--no-mmproj")
    assert bare.returncode == 0, bare.stderr
    assert sorted(p.name for p in (tmp_path / "bare/models" / REPO).iterdir()) == ["v-Q8_0.gguf"]

    full = _pull(tmp_path / "full", hub.endpoint, f"{REPO}:Q8_0")
    assert full.returncode == 0, full.stderr
    folder = tmp_path / "full/models" / REPO
    assert sorted(p.name for p in folder.iterdir()) == ["mmproj-v-f16.gguf", "v-Q8_0.gguf"]
    assert (folder / "mmproj-v-f16.gguf").read_bytes() == projector.read_bytes()
