"""GPU detection through the fake NVML: every failure mode ends in a clean sentence."""

from __future__ import annotations

from app.backend.hardware import HardwareMonitor, NvmlSession, query_gpus
from app.backend.hardware.nvml import describe_nvml_error, load_pynvml
from tests.helpers.fake_nvml import (
    NVML_ERROR_GPU_IS_LOST,
    NVML_ERROR_NO_PERMISSION,
    FakeGpu,
    FakeNvml,
    GiB,
    NVMLError,
    NVMLError_LibraryNotFound,
    two_gpus,
)


def test_fake_error_maps_to_subclass_like_pynvml() -> None:
    err = NVMLError(12)
    assert isinstance(err, NVMLError_LibraryNotFound)
    assert err.value == 12


def test_driver_missing_is_a_clean_message() -> None:
    status = query_gpus(FakeNvml.driver_missing())
    assert not status.available
    assert status.reason == (
        "No supported GPU found: NVIDIA driver not installed (libnvidia-ml.so.1 missing)"
    )
    assert status.gpus == ()


def test_driver_not_loaded() -> None:
    status = query_gpus(FakeNvml.driver_not_loaded())
    assert not status.available
    assert "not loaded" in (status.reason or "")


def test_no_pynvml_module() -> None:
    status = query_gpus(None, use_system=False)
    assert not status.available
    assert "pynvml" in (status.reason or "")


def test_zero_gpus() -> None:
    nvml = FakeNvml.with_gpus([])
    status = query_gpus(nvml)
    assert not status.available
    assert status.reason == "No supported GPU found: the NVIDIA driver reports no GPUs"
    assert not nvml.initialized  # shut down again


def test_one_gpu() -> None:
    nvml = FakeNvml.with_gpus([FakeGpu("NVIDIA H100", total=80 * GiB, used=3 * GiB)])
    status = query_gpus(nvml)
    assert status.available
    assert status.driver_version == "550.54.14"
    (gpu,) = status.gpus
    assert gpu.name == "NVIDIA H100"
    assert gpu.vram_free_bytes == 77 * GiB
    assert gpu.power_w == 35.0
    assert gpu.temperature_c == 41.0
    assert not nvml.initialized


def test_two_gpus_different_free_vram_and_unsupported_power() -> None:
    status = query_gpus(two_gpus())
    assert status.free_vram == [22 * GiB, 6 * GiB]
    assert status.gpus[1].power_w is None  # NOT_SUPPORTED -> None, not an error
    assert status.gpus[0].utilization_pct == 63.0


def test_nvml_raising_mid_query() -> None:
    nvml = two_gpus()
    nvml.fail_on("nvmlDeviceGetMemoryInfo", NVML_ERROR_GPU_IS_LOST, after=1)
    status = query_gpus(nvml)
    assert not status.available
    assert "stopped responding" in (status.reason or "")
    assert not nvml.initialized


def test_unknown_error_code_still_readable() -> None:
    assert describe_nvml_error(NVMLError(999)) == "NVML error: Unknown Error"
    assert "permission" in describe_nvml_error(NVMLError(NVML_ERROR_NO_PERMISSION))


def test_session_reuses_handles_across_samples() -> None:
    nvml = two_gpus()
    session = NvmlSession(nvml)
    assert session.open().available
    for _ in range(5):
        gpus, err = session.sample()
        assert err is None and len(gpus) == 2
    assert nvml.calls.count("nvmlInit") == 1
    assert nvml.calls.count("nvmlDeviceGetHandleByIndex") == 2
    session.close()
    assert not nvml.initialized


def test_session_recovers_after_failure() -> None:
    nvml = two_gpus()
    session = NvmlSession(nvml)
    session.open()
    nvml.fail_on("nvmlDeviceGetUtilizationRates", NVML_ERROR_GPU_IS_LOST, after=2)
    gpus, err = session.sample()
    assert gpus == () and err is not None and "stopped responding" in err
    assert not session.is_open
    nvml._failures.clear()
    gpus, err = session.sample()  # reopens
    assert err is None and len(gpus) == 2


def test_monitor_with_fake_gpus_and_process_rss() -> None:
    import os

    with HardwareMonitor(two_gpus(), per_core=True) as mon:
        snap = mon.sample([os.getpid(), 2**22 + 12345])  # second pid does not exist
    assert [g.vram_used_bytes for g in snap.gpus] == [2 * GiB, 2 * GiB]
    assert snap.gpus[0].power_w == 312.0
    assert snap.gpu_error is None
    assert set(snap.process_rss_bytes) == {os.getpid()}
    assert snap.process_rss_bytes[os.getpid()] > 10 * 2**20
    assert snap.per_core_percent
    assert 0 < snap.ram_used_bytes < snap.ram_total_bytes


def test_monitor_without_driver_reports_reason_every_sample() -> None:
    mon = HardwareMonitor(FakeNvml.driver_missing())
    snap = mon.sample()
    assert snap.gpus == ()
    assert snap.gpu_error is not None and snap.gpu_error.startswith("No supported GPU found")


def test_real_pynvml_on_this_machine_never_raises() -> None:
    status = query_gpus(load_pynvml())
    assert status.available or (status.reason or "").startswith("No supported GPU found")
