"""Probing the llama.cpp build in a child process.

Importing llama_cpp loads llama.cpp and its GPU backends: about 200 ms with the GIL held in
places (a visible stall if the window's process does it), more memory in that process, and,
with a broken GPU driver, possibly an abort. The window's process therefore never imports it:
a short-lived child answers once and the result is cached for the life of the process.
"""

from __future__ import annotations

import functools
import json
import subprocess
import sys
from dataclasses import asdict

from .llama_backend import detect_llama_backend
from .types import LlamaBackendInfo

PROBE_TIMEOUT_S = 60.0


def probe_command() -> list[str]:
    if getattr(sys, "frozen", False):
        return [sys.executable, "probe-llama"]
    return [sys.executable, "-m", "app.backend.hardware.llama_probe"]


@functools.lru_cache(maxsize=1)
def probe_llama_backend() -> LlamaBackendInfo:
    """``detect_llama_backend()`` run in a child process; never raises."""
    try:
        done = subprocess.run(
            probe_command(),
            capture_output=True,
            text=True,
            timeout=PROBE_TIMEOUT_S,
            stdin=subprocess.DEVNULL,
            check=False,
        )
        lines = done.stdout.strip().splitlines()
        if done.returncode != 0 or not lines:
            why = (done.stderr.strip().splitlines() or ["no output"])[-1]
            return LlamaBackendInfo(
                False, "unknown", False, reason=f"llama.cpp could not be loaded: {why}"
            )
        return LlamaBackendInfo(**json.loads(lines[-1]))
    except (OSError, subprocess.TimeoutExpired, ValueError, TypeError) as exc:
        return LlamaBackendInfo(False, "unknown", False, reason=f"llama.cpp probe failed: {exc}")


def main() -> int:
    """Print the backend description as one JSON line (the child's side)."""
    print(json.dumps(asdict(detect_llama_backend())), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
