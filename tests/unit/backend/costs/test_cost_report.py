"""Cost per 1K tokens, savings and break-even, checked by hand against usage records."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from pathlib import Path

import pytest

from app.backend.costs import (
    CSV_COLUMNS,
    api_cost,
    build_report,
    default_table,
    energy_cost,
    months_to_break_even,
    per_1k,
    usage_csv,
)
from app.backend.costs.prices import CloudPrice
from app.backend.settings.schema import CostSettings
from app.backend.usage import UsageRecord, UsageStore


def _ts(day: str) -> float:
    return datetime.fromisoformat(f"{day}T12:00:00").timestamp()


@pytest.fixture
def store(tmp_path: Path):
    s = UsageStore(tmp_path / "usage.db")
    # Day 1: 1M in + 0.5M out on the chat, 1 kWh measured.
    s.add(UsageRecord("chat", "m", 1_000_000, 500_000, _ts("2025-01-01"), 60, 3_600_000.0))
    # Day 2: 2M in + 1M out from an API token, 2 kWh measured.
    s.add(UsageRecord("api:ci", "m", 2_000_000, 1_000_000, _ts("2025-01-02"), 60, 7_200_000.0))
    # Day 2: a remote engine answered 10K tokens: not ours to compare or charge.
    s.add(
        UsageRecord("chat", "remote:lab/x", 9_000, 1_000, _ts("2025-01-02"), 5, None, "remote:lab")
    )
    yield s
    s.close()


COSTS = CostSettings(
    electricity_price_per_kwh=0.30,
    currency="EUR",
    usd_rate=1.0,
    hardware_price=2.70,
    amortisation_months=24,
    compare_with="gpt-4o-mini",  # 0.15 in / 0.60 out per 1M
)


def test_basic_arithmetic() -> None:
    assert energy_cost(3_600_000, 0.30) == pytest.approx(0.30)
    price = CloudPrice("x", "p", 0.15, 0.60)
    assert api_cost(1_000_000, 500_000, price) == pytest.approx(0.15 + 0.30)
    assert api_cost(1_000_000, 0, price, usd_rate=0.9) == pytest.approx(0.135)
    assert per_1k(0.45, 1_500_000) == pytest.approx(0.0003)
    assert per_1k(1.0, 0) is None
    assert months_to_break_even(100, 25) == 4
    assert months_to_break_even(100, 0) is None
    assert months_to_break_even(0, 10) is None


def test_report_matches_hand_numbers(store: UsageStore) -> None:
    report = build_report(store.daily(), COSTS, default_table(), today=date(2025, 1, 10))
    d1, d2 = report.days
    assert (d1.day, d1.energy_cost, d1.api_cost) == ("2025-01-01", 0.30, pytest.approx(0.45))
    assert d1.savings == pytest.approx(0.15)
    assert d2.energy_cost == pytest.approx(0.60)
    assert d2.api_cost == pytest.approx(0.30 + 0.60)
    assert d2.cumulative_savings == pytest.approx(0.15 + 0.30)
    assert d2.remote_tokens == 10_000 and d2.local_tokens == 3_000_000
    assert report.local_tokens == 4_500_000
    assert report.total_prompt_tokens == 3_009_000
    assert report.savings == pytest.approx(0.45)
    assert report.measured_share == 1.0
    # Energy: 0.90 for 4.5M tokens = 0.0002 per 1K. API: 1.35 / 4.5M = 0.0003 per 1K.
    assert report.energy_per_1k == pytest.approx(0.0002)
    assert report.api_per_1k == pytest.approx(0.0003)
    # Hardware: 2.70 / 24 = 0.1125 a month; 4.5M tokens in 10 days = 13,696,875 a month.
    assert report.tracked_days == 10
    assert report.hardware_per_1k == pytest.approx(0.1125 / 13_696_875 * 1000)
    assert report.local_per_1k == pytest.approx(0.0002 + 0.1125 / 13_696.875)
    # Savings 0.45 in 10 days = 1.3696875 a month; 2.70 / 1.3696875 = 1.9713 months.
    assert report.savings_per_month == pytest.approx(1.3696875)
    assert report.break_even_months == pytest.approx(1.97125, rel=1e-4)
    assert report.break_even_date == "2025-03-02"  # 1 Jan + round(1.97125 * 30.4375) = 60 days
    assert [b.key for b in report.by_source] == ["api:ci", "chat"]
    assert report.currency == "EUR" and report.compare is not None


def test_no_hardware_price_means_no_break_even(store: UsageStore) -> None:
    costs = CostSettings(hardware_price=0.0)
    report = build_report(store.daily(), costs, default_table(), today=date(2025, 1, 2))
    assert report.break_even_months is None and report.hardware_per_1k is None
    assert report.local_per_1k == report.energy_per_1k


def test_unknown_comparison_model_still_reports_energy(store: UsageStore) -> None:
    report = build_report(store.daily(), COSTS, default_table(), compare_id="nope")
    assert report.compare is None and report.api_cost == 0 and report.api_per_1k is None
    assert report.energy_cost == pytest.approx(0.90)


def test_empty_usage() -> None:
    report = build_report([], COSTS, default_table())
    assert report.days == [] and report.local_per_1k is None and report.tracked_days == 0


def test_csv_export_rows_match_records(store: UsageStore) -> None:
    text = usage_csv(store.daily(), COSTS, default_table())
    rows = list(csv.DictReader(io.StringIO(text)))
    assert tuple(rows[0].keys()) == CSV_COLUMNS
    first = rows[0]
    assert (first["day"], first["source"], first["prompt_tokens"]) == (
        "2025-01-01",
        "chat",
        "1000000",
    )
    assert float(first["energy_wh"]) == pytest.approx(1000.0)
    assert float(first["energy_cost"]) == pytest.approx(0.30)
    assert float(first["api_cost"]) == pytest.approx(0.45)
    remote = next(r for r in rows if r["engine"] == "remote:lab")
    assert remote["energy_cost"] == "" and remote["api_cost"] == ""
    assert sum(int(r["prompt_tokens"]) + int(r["completion_tokens"]) for r in rows) == 4_510_000
