"""A faithful stand-in for the ``pynvml`` functions Hearth calls, for tests without a GPU.

Mirrors pynvml's behaviour: ``NVMLError(code)`` maps to subclasses such as
``NVMLError_LibraryNotFound``, memory info has ``total/free/used`` in bytes, power is in
milliwatts, utilisation has ``.gpu``/``.memory`` percentages, names are ``str``.

    nvml = FakeNvml.with_gpus([FakeGpu("RTX 4090", total=24 * GiB, used=2 * GiB)])
    nvml = FakeNvml.driver_missing()
    nvml.fail_on("nvmlDeviceGetMemoryInfo", NVML_ERROR_GPU_IS_LOST, after=1)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, ClassVar

GiB = 1024**3

NVML_SUCCESS = 0
NVML_ERROR_UNINITIALIZED = 1
NVML_ERROR_INVALID_ARGUMENT = 2
NVML_ERROR_NOT_SUPPORTED = 3
NVML_ERROR_NO_PERMISSION = 4
NVML_ERROR_DRIVER_NOT_LOADED = 9
NVML_ERROR_LIBRARY_NOT_FOUND = 12
NVML_ERROR_GPU_IS_LOST = 15
NVML_ERROR_LIB_RM_VERSION_MISMATCH = 18
NVML_ERROR_UNKNOWN = 999
NVML_TEMPERATURE_GPU = 0

_STRINGS = {
    NVML_ERROR_UNINITIALIZED: "Uninitialized",
    NVML_ERROR_INVALID_ARGUMENT: "Invalid Argument",
    NVML_ERROR_NOT_SUPPORTED: "Not Supported",
    NVML_ERROR_NO_PERMISSION: "Insufficient Permissions",
    NVML_ERROR_DRIVER_NOT_LOADED: "Driver Not Loaded",
    NVML_ERROR_LIBRARY_NOT_FOUND: "NVML Shared Library Not Found",
    NVML_ERROR_GPU_IS_LOST: "GPU is lost",
    NVML_ERROR_LIB_RM_VERSION_MISMATCH: "RM has detected an NVML/RM version mismatch.",
    NVML_ERROR_UNKNOWN: "Unknown Error",
}


class NVMLError(Exception):
    """Like pynvml.NVMLError: constructing the base class yields the code's subclass."""

    _valClassMapping: ClassVar[dict[int, type[NVMLError]]] = {}
    value: int

    def __new__(cls, value: int) -> NVMLError:
        if cls is NVMLError:
            cls = NVMLError._valClassMapping.get(value, cls)
        obj = Exception.__new__(cls)
        obj.value = value
        return obj

    def __init__(self, value: int) -> None:
        super().__init__(value)

    def __str__(self) -> str:
        return _STRINGS.get(self.value, f"NVML Error with code {self.value}")


def _subclass(name: str, code: int) -> type[NVMLError]:
    cls = type(name, (NVMLError,), {})
    NVMLError._valClassMapping[code] = cls
    return cls


NVMLError_Uninitialized = _subclass("NVMLError_Uninitialized", NVML_ERROR_UNINITIALIZED)
NVMLError_NotSupported = _subclass("NVMLError_NotSupported", NVML_ERROR_NOT_SUPPORTED)
NVMLError_NoPermission = _subclass("NVMLError_NoPermission", NVML_ERROR_NO_PERMISSION)
NVMLError_DriverNotLoaded = _subclass("NVMLError_DriverNotLoaded", NVML_ERROR_DRIVER_NOT_LOADED)
NVMLError_LibraryNotFound = _subclass("NVMLError_LibraryNotFound", NVML_ERROR_LIBRARY_NOT_FOUND)
NVMLError_GpuIsLost = _subclass("NVMLError_GpuIsLost", NVML_ERROR_GPU_IS_LOST)
NVMLError_Unknown = _subclass("NVMLError_Unknown", NVML_ERROR_UNKNOWN)


@dataclass
class FakeGpu:
    name: str = "NVIDIA GeForce RTX 4090"
    total: int = 24 * GiB
    used: int = 1 * GiB
    util: int = 7
    temperature: int = 41
    power_mw: int | None = 35_000  # None -> NOT_SUPPORTED, like some laptop GPUs

    @property
    def free(self) -> int:
        return self.total - self.used


@dataclass
class FakeNvml:
    """Module-like object; pass it wherever an ``NvmlLike`` is accepted."""

    gpus: list[FakeGpu] = field(default_factory=list)
    init_error: int | None = None
    driver_version: str = "550.54.14"
    calls: list[str] = field(default_factory=list)
    _failures: dict[str, tuple[int, int]] = field(default_factory=dict)
    _initialized: int = 0

    NVMLError: ClassVar[type[NVMLError]] = NVMLError
    NVMLError_LibraryNotFound: ClassVar[type[NVMLError]] = NVMLError_LibraryNotFound
    NVML_TEMPERATURE_GPU: ClassVar[int] = NVML_TEMPERATURE_GPU

    # --- constructors for the usual scenarios -------------------------------------
    @classmethod
    def with_gpus(cls, gpus: list[FakeGpu]) -> FakeNvml:
        return cls(gpus=list(gpus))

    @classmethod
    def driver_missing(cls) -> FakeNvml:
        return cls(init_error=NVML_ERROR_LIBRARY_NOT_FOUND)

    @classmethod
    def driver_not_loaded(cls) -> FakeNvml:
        return cls(init_error=NVML_ERROR_DRIVER_NOT_LOADED)

    def fail_on(self, function: str, code: int, after: int = 0) -> None:
        """Make ``function`` raise ``NVMLError(code)`` from its ``after+1``-th call on."""
        self._failures[function] = (code, after)

    # --- helpers -------------------------------------------------------------------
    def _enter(self, name: str) -> None:
        self.calls.append(name)
        if name in self._failures:
            code, after = self._failures[name]
            if self.calls.count(name) > after:
                raise NVMLError(code)
        if name not in ("nvmlInit", "nvmlShutdown") and not self._initialized:
            raise NVMLError(NVML_ERROR_UNINITIALIZED)

    def _gpu(self, handle: Any) -> FakeGpu:
        if not isinstance(handle, SimpleNamespace) or handle.index >= len(self.gpus):
            raise NVMLError(NVML_ERROR_INVALID_ARGUMENT)
        return self.gpus[handle.index]

    @property
    def initialized(self) -> bool:
        return self._initialized > 0

    # --- the pynvml API ------------------------------------------------------------
    def nvmlInit(self) -> None:
        self._enter("nvmlInit")
        if self.init_error is not None:
            raise NVMLError(self.init_error)
        self._initialized += 1  # NVML is reference counted

    def nvmlShutdown(self) -> None:
        self._enter("nvmlShutdown")
        if not self._initialized:
            raise NVMLError(NVML_ERROR_UNINITIALIZED)
        self._initialized -= 1

    def nvmlSystemGetDriverVersion(self) -> str:
        self._enter("nvmlSystemGetDriverVersion")
        return self.driver_version

    def nvmlDeviceGetCount(self) -> int:
        self._enter("nvmlDeviceGetCount")
        return len(self.gpus)

    def nvmlDeviceGetHandleByIndex(self, index: int) -> SimpleNamespace:
        self._enter("nvmlDeviceGetHandleByIndex")
        if not 0 <= index < len(self.gpus):
            raise NVMLError(NVML_ERROR_INVALID_ARGUMENT)
        return SimpleNamespace(index=index)

    def nvmlDeviceGetName(self, handle: Any) -> str:
        self._enter("nvmlDeviceGetName")
        return self._gpu(handle).name

    def nvmlDeviceGetMemoryInfo(self, handle: Any) -> SimpleNamespace:
        self._enter("nvmlDeviceGetMemoryInfo")
        g = self._gpu(handle)
        return SimpleNamespace(total=g.total, free=g.free, used=g.used)

    def nvmlDeviceGetUtilizationRates(self, handle: Any) -> SimpleNamespace:
        self._enter("nvmlDeviceGetUtilizationRates")
        g = self._gpu(handle)
        return SimpleNamespace(gpu=g.util, memory=g.util // 2)

    def nvmlDeviceGetTemperature(self, handle: Any, sensor: int) -> int:
        self._enter("nvmlDeviceGetTemperature")
        if sensor != NVML_TEMPERATURE_GPU:
            raise NVMLError(NVML_ERROR_INVALID_ARGUMENT)
        return self._gpu(handle).temperature

    def nvmlDeviceGetPowerUsage(self, handle: Any) -> int:
        self._enter("nvmlDeviceGetPowerUsage")
        g = self._gpu(handle)
        if g.power_mw is None:
            raise NVMLError(NVML_ERROR_NOT_SUPPORTED)
        return g.power_mw


def two_gpus() -> FakeNvml:
    """A 24 GiB card with 22 GiB free and an 8 GiB card with 6 GiB free."""
    return FakeNvml.with_gpus(
        [
            FakeGpu(
                "NVIDIA GeForce RTX 4090", total=24 * GiB, used=2 * GiB, util=63, power_mw=312_000
            ),
            FakeGpu("NVIDIA GeForce RTX 3070", total=8 * GiB, used=2 * GiB, util=12, power_mw=None),
        ]
    )
