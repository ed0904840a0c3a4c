"""The llama.cpp build is probed in a child: planning never loads llama.cpp into our process."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from app.backend.hardware.llama_probe import probe_llama_backend
from tests.helpers.gguf_factory import write_tiny_llama


def test_probe_describes_the_installed_build() -> None:
    info = probe_llama_backend()
    assert info.importable
    assert info.backend == "CPU"  # the test machines build llama.cpp without a GPU backend
    assert "CPU" in info.system_info


def test_planning_a_load_keeps_llama_cpp_out_of_the_process(tmp_path: Path) -> None:
    model = write_tiny_llama(tmp_path / "models" / "acme" / "tiny" / "tiny-F32.gguf")
    script = textwrap.dedent(
        f"""
        import sys
        from pathlib import Path
        from app.backend.core import HearthCore
        from app.backend.paths import DataPaths
        core = HearthCore(DataPaths(Path({str(tmp_path)!r})))
        model = core.library.resolve({str(model)!r})
        params, plan = core.engines.plan(model)
        assert plan.verdict == "cpu_only", plan.verdict
        assert "llama_cpp" not in sys.modules, "llama_cpp was imported by planning"
        print("ok")
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().endswith("ok")
