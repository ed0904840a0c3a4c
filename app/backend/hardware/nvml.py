"""NVIDIA GPU queries through NVML, behind a small protocol so tests can inject a fake.

Any NVML failure (no library, no driver, a GPU falling off the bus mid-query) becomes a
``GpuStatus(available=False, reason=...)`` with a sentence a user can act on; never a crash.
"""

from __future__ import annotations

import contextlib
from typing import Any, Protocol

from .types import GpuInfo, GpuSample, GpuStatus

# NVML return codes (nvml.h); stable across driver versions.
NVML_ERROR_UNINITIALIZED = 1
NVML_ERROR_NOT_SUPPORTED = 3
NVML_ERROR_NO_PERMISSION = 4
NVML_ERROR_DRIVER_NOT_LOADED = 9
NVML_ERROR_LIBRARY_NOT_FOUND = 12
NVML_ERROR_GPU_IS_LOST = 15
NVML_ERROR_LIB_RM_VERSION_MISMATCH = 18
NVML_TEMPERATURE_GPU = 0

_REASONS = {
    NVML_ERROR_LIBRARY_NOT_FOUND: "NVIDIA driver not installed (libnvidia-ml.so.1 missing)",
    NVML_ERROR_DRIVER_NOT_LOADED: "NVIDIA driver installed but not loaded (reboot, or check dmesg)",
    NVML_ERROR_NO_PERMISSION: "no permission to query the NVIDIA driver",
    NVML_ERROR_LIB_RM_VERSION_MISMATCH: "NVIDIA driver and library versions differ (reboot needed)",
    NVML_ERROR_GPU_IS_LOST: "the GPU stopped responding (fell off the bus)",
}


class NvmlLike(Protocol):
    """The subset of ``pynvml`` Hearth calls; ``pynvml`` itself satisfies it."""

    NVMLError: type[Exception]

    def nvmlInit(self) -> None: ...
    def nvmlShutdown(self) -> None: ...
    def nvmlDeviceGetCount(self) -> int: ...
    def nvmlDeviceGetHandleByIndex(self, index: int) -> Any: ...
    def nvmlDeviceGetName(self, handle: Any) -> str | bytes: ...
    def nvmlDeviceGetMemoryInfo(self, handle: Any) -> Any: ...
    def nvmlDeviceGetUtilizationRates(self, handle: Any) -> Any: ...
    def nvmlDeviceGetTemperature(self, handle: Any, sensor: int) -> int: ...
    def nvmlDeviceGetPowerUsage(self, handle: Any) -> int: ...
    def nvmlSystemGetDriverVersion(self) -> str | bytes: ...


def load_pynvml() -> NvmlLike | None:
    """The real ``pynvml`` module, or None when nvidia-ml-py isn't installed."""
    try:
        import pynvml
    except ImportError:
        return None
    return pynvml


def describe_nvml_error(exc: BaseException) -> str:
    """A user-facing reason for an NVML exception (its ``value`` is the NVML return code)."""
    code = getattr(exc, "value", None)
    if isinstance(code, int) and code in _REASONS:
        return _REASONS[code]
    try:
        text = str(exc)
    except Exception:
        text = type(exc).__name__
    return f"NVML error: {text}" if text else f"NVML error {code}"


def no_gpu(reason: str) -> GpuStatus:
    return GpuStatus(available=False, reason=f"No supported GPU found: {reason}")


def _text(value: str | bytes) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


class NvmlSession:
    """Keeps NVML initialised and device handles cached, so a 1 Hz sample costs microseconds.

    ``open()`` returns a ``GpuStatus``; afterwards ``sample()`` reads live numbers. Optional
    readings (utilisation, power, temperature) that a GPU doesn't support come back as None.
    """

    def __init__(self, nvml: NvmlLike | None) -> None:
        self._nvml = nvml
        self._handles: list[Any] = []
        self._names: list[str] = []
        self._open = False
        self.driver_version: str | None = None

    @property
    def is_open(self) -> bool:
        return self._open

    def open(self) -> GpuStatus:
        nvml = self._nvml
        if nvml is None:
            return no_gpu("nvidia-ml-py (pynvml) is not installed")
        try:
            nvml.nvmlInit()
        except Exception as exc:
            return no_gpu(describe_nvml_error(exc))
        self._open = True
        try:
            self.driver_version = _text(nvml.nvmlSystemGetDriverVersion())
            count = nvml.nvmlDeviceGetCount()
            self._handles = [nvml.nvmlDeviceGetHandleByIndex(i) for i in range(count)]
            self._names = [_text(nvml.nvmlDeviceGetName(h)) for h in self._handles]
            gpus = tuple(self._info(i) for i in range(count))
        except Exception as exc:
            self.close()
            return no_gpu(describe_nvml_error(exc))
        if not gpus:
            self.close()
            return no_gpu("the NVIDIA driver reports no GPUs")
        return GpuStatus(available=True, gpus=gpus, driver_version=self.driver_version)

    def close(self) -> None:
        if self._open and self._nvml is not None:
            with contextlib.suppress(Exception):
                self._nvml.nvmlShutdown()
        self._open = False
        self._handles = []
        self._names = []

    def _optional(self, fn: Any, *args: Any) -> Any:
        """Call an optional reading; NOT_SUPPORTED (e.g. power on some laptops) -> None."""
        assert self._nvml is not None
        try:
            return fn(*args)
        except self._nvml.NVMLError as exc:
            if getattr(exc, "value", None) == NVML_ERROR_NOT_SUPPORTED:
                return None
            raise

    def _read(self, index: int) -> tuple[Any, float | None, float | None, float | None]:
        """(memory info, utilisation %, temperature C, power W) for one GPU."""
        nvml = self._nvml
        assert nvml is not None
        h = self._handles[index]
        mem = nvml.nvmlDeviceGetMemoryInfo(h)
        util = self._optional(nvml.nvmlDeviceGetUtilizationRates, h)
        temp = self._optional(nvml.nvmlDeviceGetTemperature, h, NVML_TEMPERATURE_GPU)
        power_mw = self._optional(nvml.nvmlDeviceGetPowerUsage, h)
        return (
            mem,
            float(util.gpu) if util is not None else None,
            float(temp) if temp is not None else None,
            power_mw / 1000.0 if power_mw is not None else None,
        )

    def _sample(self, index: int) -> GpuSample:
        mem, util, temp, power = self._read(index)
        return GpuSample(
            index=index,
            utilization_pct=util,
            vram_used_bytes=int(mem.used),
            vram_total_bytes=int(mem.total),
            power_w=power,
            temperature_c=temp,
        )

    def _info(self, index: int) -> GpuInfo:
        mem, util, temp, power = self._read(index)
        return GpuInfo(
            index=index,
            name=self._names[index],
            vram_total_bytes=int(mem.total),
            vram_used_bytes=int(mem.used),
            vram_free_bytes=int(mem.free),
            utilization_pct=util,
            temperature_c=temp,
            power_w=power,
        )

    def sample(self) -> tuple[tuple[GpuSample, ...], str | None]:
        """Live readings for every GPU, or ``((), reason)`` if NVML failed this time.

        A failure closes the session; the next ``sample()`` tries to reopen it (a driver
        reload or a GPU coming back is picked up without restarting the app).
        """
        if not self._open:
            status = self.open()
            if not status.available:
                return (), status.reason
        try:
            return tuple(self._sample(i) for i in range(len(self._handles))), None
        except Exception as exc:
            self.close()
            return (), no_gpu(describe_nvml_error(exc)).reason


def query_gpus(nvml: NvmlLike | None = None, *, use_system: bool = True) -> GpuStatus:
    """One-shot GPU inventory; ``nvml=None`` uses the installed pynvml when ``use_system``."""
    if nvml is None and use_system:
        nvml = load_pynvml()
    session = NvmlSession(nvml)
    try:
        return session.open()
    finally:
        session.close()
