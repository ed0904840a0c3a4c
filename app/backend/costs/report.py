"""The Usage page's numbers, computed from usage records (no Qt, so tests check them).

Only tokens generated on this machine ("local" engine) are compared with the cloud price:
remote engines run elsewhere and their energy is not ours. Electricity is charged only to
records whose energy was measured; ``measured_share`` says how many tokens that covers.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from app.backend.costs.calc import (
    DAYS_PER_MONTH,
    api_cost,
    energy_cost,
    hardware_per_month,
    months_to_break_even,
    per_1k,
)
from app.backend.costs.prices import CloudPrice, PriceTable
from app.backend.settings.schema import CostSettings
from app.backend.usage.store import DailyUsage


@dataclass
class DayCost:
    """One calendar day, all models and sources together."""

    day: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    local_tokens: int = 0
    remote_tokens: int = 0
    energy_j: float = 0.0
    measured_tokens: int = 0
    energy_cost: float = 0.0
    api_cost: float = 0.0  # what the local tokens would have cost in the cloud
    savings: float = 0.0  # api_cost - energy_cost
    cumulative_savings: float = 0.0
    local_per_1k: float | None = None  # energy per 1K measured tokens + hardware per 1K
    api_per_1k: float | None = None

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass
class Breakdown:
    key: str
    requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    energy_j: float = 0.0


@dataclass
class CostReport:
    days: list[DayCost]
    currency: str
    compare: CloudPrice | None
    prices_as_of: str
    total_prompt_tokens: int = 0
    total_completion_tokens: int = 0
    local_tokens: int = 0
    energy_j: float = 0.0
    energy_cost: float = 0.0
    api_cost: float = 0.0
    savings: float = 0.0
    measured_share: float = 0.0  # of local tokens
    energy_per_1k: float | None = None
    hardware_per_1k: float | None = None
    local_per_1k: float | None = None
    api_per_1k: float | None = None
    tracked_days: int = 0
    savings_per_month: float = 0.0
    break_even_months: float | None = None
    break_even_date: str | None = None
    by_model: list[Breakdown] = field(default_factory=list)
    by_source: list[Breakdown] = field(default_factory=list)


def build_report(
    rows: Iterable[DailyUsage],
    costs: CostSettings,
    prices: PriceTable,
    compare_id: str | None = None,
    today: date | None = None,
) -> CostReport:
    rows = list(rows)
    compare = prices.get(compare_id or costs.compare_with)
    report = CostReport([], costs.currency, compare, prices.as_of)
    days: dict[str, DayCost] = {}
    models: dict[str, Breakdown] = {}
    sources: dict[str, Breakdown] = {}
    for row in rows:
        day = days.setdefault(row.day, DayCost(row.day))
        day.prompt_tokens += row.prompt_tokens
        day.completion_tokens += row.completion_tokens
        for key, table in ((row.model_id, models), (row.source, sources)):
            b = table.setdefault(key, Breakdown(key))
            b.requests += row.requests
            b.prompt_tokens += row.prompt_tokens
            b.completion_tokens += row.completion_tokens
            b.energy_j += row.energy_j
        if row.engine != "local":
            day.remote_tokens += row.total_tokens
            continue
        day.local_tokens += row.total_tokens
        day.energy_j += row.energy_j
        day.measured_tokens += row.measured_tokens
        if compare is not None:
            day.api_cost += api_cost(
                row.prompt_tokens, row.completion_tokens, compare, costs.usd_rate
            )
    ordered = [days[k] for k in sorted(days)]
    report.days = ordered
    report.by_model = sorted(
        models.values(), key=lambda b: -(b.prompt_tokens + b.completion_tokens)
    )
    report.by_source = sorted(
        sources.values(), key=lambda b: -(b.prompt_tokens + b.completion_tokens)
    )
    if not ordered:
        return report

    first = date.fromisoformat(ordered[0].day)
    last = max(date.fromisoformat(ordered[-1].day), today or date.today())
    report.tracked_days = (last - first).days + 1
    measured = 0
    for day in ordered:
        day.energy_cost = energy_cost(day.energy_j, costs.electricity_price_per_kwh)
        day.savings = day.api_cost - day.energy_cost
        report.total_prompt_tokens += day.prompt_tokens
        report.total_completion_tokens += day.completion_tokens
        report.local_tokens += day.local_tokens
        report.energy_j += day.energy_j
        report.energy_cost += day.energy_cost
        report.api_cost += day.api_cost
        report.savings += day.savings
        day.cumulative_savings = report.savings
        measured += day.measured_tokens

    report.measured_share = measured / report.local_tokens if report.local_tokens else 0.0
    report.energy_per_1k = per_1k(report.energy_cost, measured)
    monthly_hw = hardware_per_month(costs.hardware_price, costs.amortisation_months)
    tokens_per_month = report.local_tokens / report.tracked_days * DAYS_PER_MONTH
    if monthly_hw > 0:
        report.hardware_per_1k = per_1k(monthly_hw, round(tokens_per_month))
    report.local_per_1k = _add(report.energy_per_1k, report.hardware_per_1k)
    report.api_per_1k = per_1k(report.api_cost, report.local_tokens) if compare else None
    for day in ordered:
        day.local_per_1k = _add(
            per_1k(day.energy_cost, day.measured_tokens), report.hardware_per_1k
        )
        day.api_per_1k = per_1k(day.api_cost, day.local_tokens) if compare else None

    report.savings_per_month = report.savings / report.tracked_days * DAYS_PER_MONTH
    report.break_even_months = months_to_break_even(costs.hardware_price, report.savings_per_month)
    if report.break_even_months is not None:
        reached = first + timedelta(days=round(report.break_even_months * DAYS_PER_MONTH))
        report.break_even_date = reached.isoformat()
    return report


def _add(a: float | None, b: float | None) -> float | None:
    if a is None and b is None:
        return None
    return (a or 0.0) + (b or 0.0)


CSV_COLUMNS = (
    "day",
    "model",
    "source",
    "engine",
    "requests",
    "prompt_tokens",
    "completion_tokens",
    "energy_wh",
    "energy_cost",
    "api_cost",
    "currency",
    "compared_with",
)


def usage_csv(
    rows: Iterable[DailyUsage],
    costs: CostSettings,
    prices: PriceTable,
    compare_id: str | None = None,
) -> str:
    """Per day, model, source and engine: tokens, energy and both costs (for spreadsheets)."""
    compare = prices.get(compare_id or costs.compare_with)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        local = row.engine == "local"
        energy = energy_cost(row.energy_j, costs.electricity_price_per_kwh)
        cloud = (
            api_cost(row.prompt_tokens, row.completion_tokens, compare, costs.usd_rate)
            if compare
            else None
        )
        writer.writerow(
            (
                row.day,
                row.model_id,
                row.source,
                row.engine,
                row.requests,
                row.prompt_tokens,
                row.completion_tokens,
                f"{row.energy_j / 3600:.4f}" if local else "",
                f"{energy:.6f}" if local else "",
                f"{cloud:.6f}" if local and cloud is not None else "",
                costs.currency,
                compare.id if compare else "",
            )
        )
    return out.getvalue()


def export_csv(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8", newline="")
    return path


def totals_by_day(rows: Iterable[DailyUsage]) -> dict[str, int]:
    """Tokens per day (chart data; also what tests compare the chart with)."""
    out: dict[str, int] = defaultdict(int)
    for row in rows:
        out[row.day] += row.total_tokens
    return dict(out)
