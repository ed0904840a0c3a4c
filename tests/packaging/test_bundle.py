"""The built Linux bundle runs: CLI, engine child process, server, window (slow, opt-in).

Building the bundle takes ~45 min the first time (llama.cpp's CPU variants), so this test uses
an existing ``dist/Hearth`` and skips without one, unless ``HEARTH_BUILD_BUNDLE=1`` asks it to
build first. One command does both: ``packaging/bundle_smoke.sh``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BUNDLE = Path(os.environ.get("HEARTH_BUNDLE", ROOT / "dist" / "Hearth"))

pytestmark = [
    pytest.mark.slow,
    pytest.mark.bundle,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the Linux bundle"),
]


@pytest.fixture(scope="module")
def bundle() -> Path:
    if os.environ.get("HEARTH_BUILD_BUNDLE") == "1":
        subprocess.run(
            [str(ROOT / "packaging" / "build_linux.sh")],
            check=True,
            env=dict(os.environ, HEARTH_TARBALL="0"),
            timeout=4 * 3600,
        )
    if not (BUNDLE / "hearth").exists():
        pytest.skip(f"no bundle at {BUNDLE}: run packaging/build_linux.sh")
    return BUNDLE


def test_bundle_layout(bundle: Path) -> None:
    plugins = {p.name for p in bundle.glob("libggml-cpu-*.so")}
    # Runtime CPU dispatch: the oldest and a modern variant sit beside the executable.
    assert {"libggml-cpu-x64.so", "libggml-cpu-sse42.so", "libggml-cpu-haswell.so"} <= plugins
    assert not list((bundle / "_internal").rglob("libggml-cpu-*.so"))
    assert not list(bundle.rglob("libvulkan.so*")), "the Vulkan loader must come from the system"


def test_bundle_smoke(bundle: Path, starter_model_file: Path, tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "packaging" / "smoke_test.py"),
            "--bundle",
            str(bundle),
            "--starter",
            str(starter_model_file),
            "--json",
            str(report),
        ],
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "run generated" in result.stdout
    assert "SIGTERM quit cleanly" in result.stdout
