"""Energy accounting with a fake NVML power series and hand-checked arithmetic."""

from __future__ import annotations

import time

import pytest

from app.backend.usage import (
    EnergyMeter,
    PowerModel,
    PowerReading,
    SystemPowerSource,
    integrate,
    power_at,
    shared_energy,
)
from tests.helpers.fake_nvml import FakeGpu, FakeNvml


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class SeriesSource:
    """Watts as a function of the fake clock (so priming reads change nothing)."""

    def __init__(self, clock: Clock, series: dict[float, float]) -> None:
        self.clock, self.series = clock, series

    def read(self) -> PowerReading:
        return PowerReading(self.series[self.clock.now], 0.0)

    def describe(self) -> str:
        return "series"


# ----------------------------------------------------------------- arithmetic
def test_power_is_linear_between_samples_and_flat_outside() -> None:
    samples = [(0.0, 100.0), (2.0, 200.0)]
    assert power_at(samples, 1.0) == 150.0
    assert power_at(samples, -5.0) == 100.0
    assert power_at(samples, 9.0) == 200.0
    assert power_at([], 1.0) == 0.0


def test_trapezoid_by_hand() -> None:
    samples = [(0.0, 100.0), (1.0, 200.0), (2.0, 200.0), (3.0, 100.0)]
    # (100+200)/2*1 + 200*1 + (200+100)/2*1 = 150 + 200 + 150
    assert integrate(samples, 0.0, 3.0) == pytest.approx(500.0)
    # from 0.5 (150 W) to 1.0 (200 W): 0.5 * 175 = 87.5; then 200 J; total 287.5
    assert integrate(samples, 0.5, 2.0) == pytest.approx(287.5)
    assert integrate(samples, 2.0, 2.0) == 0.0


def test_overlapping_generations_split_the_overlap_equally() -> None:
    samples = [(0.0, 100.0), (1.0, 200.0), (2.0, 200.0), (3.0, 100.0)]
    spans: list[tuple[float, float | None]] = [(0.0, 2.0), (1.0, 3.0)]
    a = shared_energy(samples, spans, 0)  # 150 alone + 200/2 shared = 250
    b = shared_energy(samples, spans, 1)  # 200/2 shared + 150 alone = 250
    assert (a, b) == (pytest.approx(250.0), pytest.approx(250.0))
    assert a + b == pytest.approx(integrate(samples, 0.0, 3.0))


def test_power_model_charges_gpu_above_baseline_plus_cpu_share() -> None:
    model = PowerModel(cpu_package_w=60.0, gpu_idle_w=20.0)
    assert model.watts(PowerReading(100.0, 50.0)) == 80.0 + 30.0
    assert model.watts(PowerReading(10.0, 0.0)) == 0.0  # below the baseline: nothing
    assert model.watts(PowerReading(None, 150.0)) == 60.0  # utilisation is clamped


# ----------------------------------------------------------------- the meter
def test_meter_integrates_a_fake_nvml_power_series() -> None:
    clock = Clock()
    gpu = FakeGpu(power_mw=100_000)
    source = SystemPowerSource(
        FakeNvml.with_gpus([gpu]), use_system_nvml=False, cpu_percent=lambda: 50.0
    )
    meter = EnergyMeter(
        source, PowerModel(cpu_package_w=60.0, gpu_idle_w=20.0), clock=clock, threaded=False
    )
    span = meter.start()  # t=0: GPU 100 W -> 80 W charged + 30 W CPU = 110 W
    for t, mw in ((1.0, 200_000), (2.0, 200_000)):
        clock.now, gpu.power_mw = t, mw
        meter.sample()  # 180 + 30 = 210 W
    clock.now, gpu.power_mw = 3.0, 100_000
    joules = meter.stop(span)  # t=3: 110 W
    # (110+210)/2 + 210 + (210+110)/2 = 160 + 210 + 160
    assert joules == pytest.approx(530.0)
    assert span.joules == joules
    assert "NVML" in source.describe()


def test_meter_on_cpu_only_uses_package_power_times_utilisation() -> None:
    clock = Clock()
    source = SystemPowerSource(
        FakeNvml.driver_missing(), use_system_nvml=False, cpu_percent=lambda: 25.0
    )
    meter = EnergyMeter(source, PowerModel(cpu_package_w=80.0), clock=clock, threaded=False)
    span = meter.start()
    clock.now = 10.0
    # 25 % of 80 W = 20 W for 10 s
    assert meter.stop(span) == pytest.approx(200.0)
    assert "CPU" in source.describe()


def test_first_cpu_reading_without_a_delta_takes_the_next_value() -> None:
    clock = Clock()
    values = iter([None, None, 50.0, 50.0])  # prime, start sample, t=1, stop
    source = SystemPowerSource(
        FakeNvml.driver_missing(), use_system_nvml=False, cpu_percent=lambda: next(values)
    )
    meter = EnergyMeter(source, PowerModel(cpu_package_w=100.0), clock=clock, threaded=False)
    span = meter.start()
    clock.now = 1.0
    meter.sample()
    clock.now = 2.0
    assert meter.stop(span) == pytest.approx(100.0)  # 50 W for 2 s


def test_concurrent_generations_through_the_meter_add_up() -> None:
    clock = Clock()
    source = SeriesSource(clock, {0.0: 100.0, 1.0: 200.0, 2.0: 200.0, 3.0: 100.0})
    meter = EnergyMeter(source, PowerModel(gpu_idle_w=0.0), clock=clock, threaded=False)
    a = meter.start()
    clock.now = 1.0
    b = meter.start()
    clock.now = 2.0
    ja = meter.stop(a)
    clock.now = 3.0
    jb = meter.stop(b)
    assert (ja, jb) == (pytest.approx(250.0), pytest.approx(250.0))
    # Everything is dropped once no generation runs.
    assert meter._readings == [] and meter._spans == []


def test_threaded_meter_samples_while_a_generation_runs() -> None:
    class Constant:
        reads = 0

        def read(self) -> PowerReading:
            Constant.reads += 1
            return PowerReading(150.0, 0.0)

        def describe(self) -> str:
            return "constant"

    meter = EnergyMeter(Constant(), PowerModel(), interval_s=0.02)
    span = meter.start()
    time.sleep(0.2)
    joules = meter.stop(span)
    assert span.end is not None
    assert joules == pytest.approx(150.0 * (span.end - span.start))
    assert Constant.reads >= 4  # the thread sampled on its own
    time.sleep(0.1)
    assert meter._thread is None  # and stopped when nothing was metered
    meter.close()
