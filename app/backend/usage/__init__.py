"""Token and energy accounting per generation (Qt-free).

``UsageRecorder`` (``HearthCore.usage``) is the entry point: ``track(source, model_id)`` when
a request is submitted, ``finish(prompt_tokens, completion_tokens)`` when it ends.
"""

from app.backend.usage.energy import (
    CpuUtilisation,
    EnergyMeter,
    PowerModel,
    PowerReading,
    PowerSource,
    Span,
    SystemPowerSource,
    integrate,
    power_at,
    shared_energy,
)
from app.backend.usage.recorder import Tracking, UsageRecorder, api_source
from app.backend.usage.store import DailyUsage, UsageRecord, UsageStore, local_day

__all__ = [
    "CpuUtilisation",
    "DailyUsage",
    "EnergyMeter",
    "PowerModel",
    "PowerReading",
    "PowerSource",
    "Span",
    "SystemPowerSource",
    "Tracking",
    "UsageRecord",
    "UsageRecorder",
    "UsageStore",
    "api_source",
    "integrate",
    "local_day",
    "power_at",
    "shared_energy",
]
