"""Energy per generation: power samples integrated over each generation's wall time.

Why this shape:

* Power is sampled (NVML on NVIDIA GPUs; on CPU the configured package power times measured
  utilisation) about twice a second by one thread that runs only while a generation does.
* Energy is the trapezoid rule over those samples, with power linearly interpolated at a
  generation's start and end; before the first and after the last sample power is held flat.
* Generations that overlap (continuous batching, chat plus API) share the energy of the time
  they overlap equally, so the per-generation energies add up to the machine's energy rather
  than counting the same watts twice.

Every step is plain arithmetic on ``(time, watts)`` pairs, so tests check it by hand.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import psutil

log = logging.getLogger(__name__)

Sample = tuple[float, float]  # (monotonic time in s, watts)


# ------------------------------------------------------------------ arithmetic
def power_at(samples: Sequence[Sample], t: float) -> float:
    """Watts at ``t``: linear between samples, flat outside them (0 with no samples)."""
    if not samples:
        return 0.0
    if t <= samples[0][0]:
        return samples[0][1]
    if t >= samples[-1][0]:
        return samples[-1][1]
    for (t0, p0), (t1, p1) in itertools.pairwise(samples):
        if t0 <= t <= t1:
            if t1 == t0:
                return p1
            return p0 + (p1 - p0) * (t - t0) / (t1 - t0)
    return samples[-1][1]  # pragma: no cover - unreachable for sorted samples


def integrate(samples: Sequence[Sample], start: float, end: float) -> float:
    """Joules between ``start`` and ``end`` by the trapezoid rule over ``samples``."""
    return shared_energy(samples, [(start, end)], 0)


def shared_energy(
    samples: Sequence[Sample], spans: Sequence[tuple[float, float | None]], index: int
) -> float:
    """Joules charged to ``spans[index]`` when overlapping spans split power equally.

    A span's end of ``None`` means it is still running. The span is cut at every sample
    time and every other span's start and end; on each piece the trapezoid energy is divided
    by the number of spans covering it.
    """
    start, end = spans[index]
    assert end is not None, "the span being charged must have ended"
    if end <= start:
        return 0.0
    cuts = {start, end}
    cuts.update(t for t, _ in samples if start < t < end)
    for s, e in spans:
        for t in (s, e):
            if t is not None and start < t < end:
                cuts.add(t)
    points = sorted(cuts)
    total = 0.0
    for a, b in itertools.pairwise(points):
        mid = (a + b) / 2
        sharing = sum(1 for s, e in spans if s <= mid and (e is None or mid <= e))
        energy = (power_at(samples, a) + power_at(samples, b)) / 2 * (b - a)
        total += energy / max(1, sharing)
    return total


# --------------------------------------------------------------------- power
@dataclass(frozen=True)
class PowerReading:
    """One reading: total GPU draw (None without NVML power) and CPU utilisation in %."""

    gpu_w: float | None
    cpu_percent: float | None


@dataclass(frozen=True)
class PowerModel:
    """Turns a reading into watts charged to generations (settings ``costs``)."""

    cpu_package_w: float = 65.0
    gpu_idle_w: float = 0.0

    def watts(self, reading: PowerReading) -> float:
        cpu = min(100.0, max(0.0, reading.cpu_percent or 0.0)) / 100.0 * self.cpu_package_w
        gpu = max(0.0, reading.gpu_w - self.gpu_idle_w) if reading.gpu_w is not None else 0.0
        return cpu + gpu


class PowerSource(Protocol):
    def read(self) -> PowerReading: ...

    def describe(self) -> str: ...


class CpuUtilisation:
    """System CPU use since the previous call, from ``cpu_times`` deltas.

    Its own bookkeeping (not ``psutil.cpu_percent``'s module state), so the Hardware page's
    monitor and the meter never shorten each other's intervals. None on the first call or
    after a long gap, when the delta would describe idle time before the generation.
    """

    def __init__(self, stale_s: float = 5.0, clock: Callable[[], float] = time.monotonic):
        self._stale_s = stale_s
        self._clock = clock
        self._last: tuple[float, float, float] | None = None  # (time, busy, total)

    def __call__(self) -> float | None:
        times = psutil.cpu_times()
        total = float(sum(times))
        idle = float(times.idle + getattr(times, "iowait", 0.0))
        now = self._clock()
        last, self._last = self._last, (now, total - idle, total)
        if last is None or now - last[0] > self._stale_s or total <= last[2]:
            return None
        return 100.0 * ((total - idle) - last[1]) / (total - last[2])


class SystemPowerSource:
    """NVML power for NVIDIA GPUs (summed) plus CPU utilisation; never raises."""

    def __init__(
        self,
        nvml: object | None = None,
        *,
        use_system_nvml: bool = True,
        cpu_percent: Callable[[], float | None] | None = None,
    ) -> None:
        from app.backend.hardware import NvmlSession, load_pynvml

        if nvml is None and use_system_nvml:
            nvml = load_pynvml()
        self._session = NvmlSession(nvml)  # type: ignore[arg-type]
        self._gpu_ok = self._session.open().available
        self._cpu = cpu_percent or CpuUtilisation()

    def read(self) -> PowerReading:
        gpu_w: float | None = None
        if self._gpu_ok:
            try:
                gpus, _error = self._session.sample()
            except Exception:  # a lost GPU must not break accounting
                gpus = ()
            powers = [g.power_w for g in gpus if g.power_w is not None]
            gpu_w = float(sum(powers)) if powers else None
        try:
            cpu = self._cpu()
        except Exception:
            cpu = None
        return PowerReading(gpu_w, cpu)

    def describe(self) -> str:
        if self._gpu_ok:
            return "NVIDIA GPU power (NVML) plus CPU package power × utilisation"
        return "CPU package power × measured utilisation (no GPU power sensor)"

    def close(self) -> None:
        self._session.close()


# --------------------------------------------------------------------- meter
@dataclass
class Span:
    """One generation being metered; ``joules`` is set by ``EnergyMeter.stop``."""

    id: int
    start: float
    end: float | None = None
    joules: float | None = None


class EnergyMeter:
    """Meters overlapping generations with one sampling thread that runs only while needed.

    ``start()`` at submit, ``stop(span)`` when the request ends (any thread). Tests pass
    ``threaded=False`` and a fake clock and call ``sample()`` themselves.
    """

    def __init__(
        self,
        source: PowerSource,
        model: Callable[[], PowerModel] | PowerModel = PowerModel(),
        *,
        interval_s: float = 0.5,
        clock: Callable[[], float] = time.monotonic,
        threaded: bool = True,
    ) -> None:
        self.source = source
        self._model = model if callable(model) else (lambda: model)
        self.interval_s = interval_s
        self._clock = clock
        self._threaded = threaded
        self._lock = threading.Condition()
        self._readings: list[tuple[float, PowerReading]] = []
        self._spans: list[Span] = []
        self._ids = itertools.count(1)
        self._thread: threading.Thread | None = None
        self._closed = False

    @property
    def model(self) -> PowerModel:
        return self._model()

    def sample(self) -> None:
        """Take one reading now."""
        reading = self.source.read()
        with self._lock:
            self._readings.append((self._clock(), reading))

    def start(self) -> Span:
        with self._lock:
            idle = not any(s.end is None for s in self._spans)
        if idle:
            self.source.read()  # prime the CPU delta so the first sample covers this span
        with self._lock:
            span = Span(next(self._ids), self._clock())
            self._spans.append(span)
        self.sample()
        if self._threaded:
            self._ensure_thread()
        return span

    def stop(self, span: Span) -> float | None:
        """End ``span``; returns its joules (None when nothing could be measured)."""
        self.sample()
        with self._lock:
            span.end = self._clock()
            samples = self._watts()
            spans = [(s.start, s.end) for s in self._spans]
            index = self._spans.index(span)
            span.joules = shared_energy(samples, spans, index) if samples else None
            self._prune()
            self._lock.notify_all()
        return span.joules

    def _watts(self) -> list[Sample]:
        """Readings as watts; a CPU value of None takes the next known one (see CpuUtilisation)."""
        model = self._model()
        out: list[Sample] = []
        next_cpu: float | None = None
        for t, reading in reversed(self._readings):
            if reading.cpu_percent is not None:
                next_cpu = reading.cpu_percent
            elif next_cpu is not None:
                reading = PowerReading(reading.gpu_w, next_cpu)
            out.append((t, model.watts(reading)))
        out.reverse()
        return out

    def _prune(self) -> None:
        active = [s.start for s in self._spans if s.end is None]
        if not active:
            self._spans.clear()
            self._readings.clear()
            return
        earliest = min(active)
        self._spans = [s for s in self._spans if s.end is None or s.end >= earliest]
        keep_from = 0
        for i, (t, _r) in enumerate(self._readings):
            if t <= earliest:
                keep_from = i
        self._readings = self._readings[keep_from:]

    def _ensure_thread(self) -> None:
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            self._thread = threading.Thread(target=self._run, name="energy-meter", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while True:
            with self._lock:
                self._lock.wait(self.interval_s)
                if self._closed or not any(s.end is None for s in self._spans):
                    self._thread = None
                    return
            try:
                self.sample()
            except Exception:  # pragma: no cover - sources never raise; be safe anyway
                log.exception("Power sampling failed")

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._lock.notify_all()
