"""Usage records in usage.db: per model, day and source; the recorder's track/finish."""

from __future__ import annotations

import sqlite3
import threading
from datetime import datetime
from pathlib import Path

import pytest

from app.backend.usage import (
    EnergyMeter,
    PowerModel,
    PowerReading,
    UsageRecord,
    UsageRecorder,
    UsageStore,
    api_source,
    local_day,
)


def _ts(day: str, hour: int = 12) -> float:
    return datetime.fromisoformat(f"{day}T{hour:02d}:00:00").timestamp()


def test_records_persist_and_group_by_day_model_source(tmp_path: Path) -> None:
    store = UsageStore(tmp_path / "usage.db")
    store.add(UsageRecord("chat", "m1", 10, 20, _ts("2025-03-01"), 1.5, 30.0))
    store.add(UsageRecord("chat", "m1", 5, 5, _ts("2025-03-01", 18), 0.5, None))
    store.add(UsageRecord("api:alice", "m1", 100, 1, _ts("2025-03-01"), 2.0, 10.0))
    store.add(UsageRecord("chat", "m2", 1, 2, _ts("2025-03-02"), 1.0, 4.0))
    store.close()

    store = UsageStore(tmp_path / "usage.db")  # reopened: nothing lost
    daily = store.daily()
    keyed = {(d.day, d.model_id, d.source): d for d in daily}
    chat = keyed[("2025-03-01", "m1", "chat")]
    assert (chat.requests, chat.prompt_tokens, chat.completion_tokens) == (2, 15, 25)
    assert chat.energy_j == 30.0
    assert chat.measured_tokens == 30  # only the record with energy
    assert keyed[("2025-03-01", "m1", "api:alice")].total_tokens == 101
    assert keyed[("2025-03-02", "m2", "chat")].energy_j == 4.0
    assert [d.day for d in store.daily(since_day="2025-03-02")] == ["2025-03-02"]
    assert len(store.records()) == 4
    store.close()


def test_bad_numbers_are_clamped_and_day_is_local(tmp_path: Path) -> None:
    store = UsageStore(tmp_path / "usage.db")
    ts = _ts("2025-04-05", 0)
    rec = store.add(UsageRecord("chat", "m", -3, 7, ts, -1.0, -5.0))
    assert rec.day == local_day(ts) == "2025-04-05"
    stored = store.records()[0]
    assert (stored.prompt_tokens, stored.duration_s, stored.energy_j) == (0, 0.0, 0.0)
    store.close()


def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "usage.db"
    UsageStore(path).close()
    db = sqlite3.connect(path)
    db.execute("UPDATE usage_schema SET version = 99")
    db.commit()
    db.close()
    with pytest.raises(RuntimeError, match="newer Hearth"):
        UsageStore(path)


def test_track_and_finish_record_once_with_energy(tmp_path: Path) -> None:
    class Source:
        def read(self) -> PowerReading:
            return PowerReading(100.0, 0.0)

        def describe(self) -> str:
            return "fake"

    now = [0.0]
    meter = EnergyMeter(Source(), PowerModel(), clock=lambda: now[0], threaded=False)
    recorder = UsageRecorder(UsageStore(tmp_path / "usage.db"), meter)
    seen: list[UsageRecord] = []
    recorder.add_listener(seen.append)
    tracking = recorder.track(api_source("alice"), "m")
    now[0] = 2.0
    first = tracking.finish(12, 34)
    again = tracking.finish(99, 99)
    assert first is again is not None
    assert (first.source, first.prompt_tokens, first.completion_tokens) == ("api:alice", 12, 34)
    assert first.energy_j == pytest.approx(200.0)  # 100 W for 2 s
    assert seen == [first]
    remote = recorder.track("chat", "remote:lab/llama", engine="remote:lab").finish(1, 2)
    assert remote is not None and remote.energy_j is None and not remote.is_local
    assert api_source(None) == "api"
    recorder.close()


def test_recording_from_many_threads(tmp_path: Path) -> None:
    recorder = UsageRecorder.open(tmp_path / "usage.db")

    def work(n: int) -> None:
        for _ in range(25):
            recorder.record(f"api:{n}", "m", 1, 1, _ts("2025-01-01"), 0.1)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(d.requests for d in recorder.store.daily()) == 100
    recorder.close()
