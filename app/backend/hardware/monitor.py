"""Cheap periodic sampling of CPU, RAM, GPUs and engine processes for live graphs.

Cost matters: the monitor runs for the whole app lifetime at about 1 Hz, so it reuses one
NVML session and cached ``psutil.Process`` objects, and uses ``cpu_percent(interval=None)``
(a delta since the previous call, no sleeping).
"""

from __future__ import annotations

import time
from collections.abc import Iterable

import psutil

from .nvml import NvmlLike, NvmlSession, load_pynvml
from .types import HardwareSnapshot


class HardwareMonitor:
    """Call ``sample()`` from any single thread; returns an immutable ``HardwareSnapshot``."""

    def __init__(
        self,
        nvml: NvmlLike | None = None,
        *,
        use_system_nvml: bool = True,
        per_core: bool = False,
    ) -> None:
        if nvml is None and use_system_nvml:
            nvml = load_pynvml()
        self._gpu = NvmlSession(nvml)
        self._gpu_reason: str | None = None
        self._per_core = per_core
        self._procs: dict[int, psutil.Process] = {}
        psutil.cpu_percent(interval=None)  # prime: the first call always returns 0.0
        if per_core:
            psutil.cpu_percent(interval=None, percpu=True)
        status = self._gpu.open()
        if not status.available:
            self._gpu_reason = status.reason

    def _rss(self, pids: Iterable[int]) -> dict[int, int]:
        out: dict[int, int] = {}
        wanted = set(pids)
        for pid in list(self._procs):
            if pid not in wanted:
                del self._procs[pid]
        for pid in wanted:
            try:
                proc = self._procs.get(pid)
                if proc is None:
                    proc = self._procs[pid] = psutil.Process(pid)
                out[pid] = int(proc.memory_info().rss)
            except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                self._procs.pop(pid, None)
        return out

    def sample(self, pids: Iterable[int] = ()) -> HardwareSnapshot:
        """Read everything once. GPUs are only retried when NVML was available at start."""
        vm = psutil.virtual_memory()
        gpus: tuple = ()
        gpu_error = self._gpu_reason
        if self._gpu_reason is None:
            gpus, gpu_error = self._gpu.sample()
        return HardwareSnapshot(
            timestamp=time.time(),
            cpu_percent=float(psutil.cpu_percent(interval=None)),
            ram_used_bytes=int(vm.total - vm.available),
            ram_available_bytes=int(vm.available),
            ram_total_bytes=int(vm.total),
            per_core_percent=(
                tuple(psutil.cpu_percent(interval=None, percpu=True)) if self._per_core else ()
            ),
            gpus=gpus,
            process_rss_bytes=self._rss(pids),
            gpu_error=gpu_error,
        )

    def close(self) -> None:
        """Shut NVML down; call when the app exits."""
        self._gpu.close()

    def __enter__(self) -> HardwareMonitor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
