"""Usage grouped the way a person asks for it ("per model", "per day and source"), with costs.

``hearth usage`` prints these groups; the Usage page uses ``build_report`` for its cards and
charts. Both use the same arithmetic (``calc``) and the same rule: only tokens generated on
this machine are charged electricity and compared with the cloud price.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from app.backend.costs.calc import api_cost, energy_cost
from app.backend.costs.prices import CloudPrice
from app.backend.settings.schema import CostSettings
from app.backend.usage.store import DailyUsage

DIMENSIONS = ("day", "model", "source", "engine")


@dataclass
class Group:
    """Usage summed over the rows sharing ``key`` (one value per grouped dimension)."""

    key: tuple[str, ...]
    requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    local_tokens: int = 0
    energy_j: float = 0.0
    energy_cost: float = 0.0  # electricity of the local rows
    api_cost: float = 0.0  # what the local rows' tokens would have cost in the cloud

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    @property
    def savings(self) -> float:
        return self.api_cost - self.energy_cost


def parse_dimensions(text: str) -> tuple[str, ...]:
    """ "model,day" → ("model", "day"); raises ValueError naming what is not a dimension."""
    names = tuple(part.strip().lower() for part in text.split(",") if part.strip())
    unknown = [n for n in names if n not in DIMENSIONS]
    if unknown or not names:
        raise ValueError(
            f"cannot group by {', '.join(unknown) or 'nothing'}; use {', '.join(DIMENSIONS)}"
        )
    return tuple(dict.fromkeys(names))


def since_day(days: int | None, since: str | None, today: date | None = None) -> str | None:
    """The first day to include: an ISO date as given, or ``days`` back including today."""
    if since:
        try:
            return date.fromisoformat(since).isoformat()
        except ValueError:
            raise ValueError(f"--since needs a date like 2026-01-31, not {since!r}") from None
    if days is not None:
        if days < 1:
            raise ValueError("--days must be at least 1")
        return ((today or date.today()) - timedelta(days=days - 1)).isoformat()
    return None


def _value(row: DailyUsage, dimension: str) -> str:
    return {
        "day": row.day,
        "model": row.model_id,
        "source": row.source,
        "engine": row.engine,
    }[dimension]


def group_usage(
    rows: Iterable[DailyUsage],
    by: Sequence[str],
    costs: CostSettings,
    compare: CloudPrice | None,
) -> list[Group]:
    """Groups sorted by key; costs in the user's currency (``costs.usd_rate``)."""
    groups: dict[tuple[str, ...], Group] = {}
    for row in rows:
        key = tuple(_value(row, d) for d in by)
        group = groups.setdefault(key, Group(key))
        group.requests += row.requests
        group.prompt_tokens += row.prompt_tokens
        group.completion_tokens += row.completion_tokens
        if row.engine != "local":
            continue  # a remote engine's tokens ran elsewhere: not charged, not "saved"
        group.local_tokens += row.total_tokens
        group.energy_j += row.energy_j
        group.energy_cost += energy_cost(row.energy_j, costs.electricity_price_per_kwh)
        if compare is not None:
            group.api_cost += api_cost(
                row.prompt_tokens, row.completion_tokens, compare, costs.usd_rate
            )
    return [groups[k] for k in sorted(groups)]


def groups_csv(
    groups: Iterable[Group], by: Sequence[str], currency: str, compare: CloudPrice | None
) -> str:
    """One line per group: the grouped dimensions, then counts and both costs."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        (
            *by,
            "requests",
            "prompt_tokens",
            "completion_tokens",
            "local_tokens",
            "energy_wh",
            "energy_cost",
            "api_cost",
            "savings",
            "currency",
            "compared_with",
        )
    )
    for g in groups:
        writer.writerow(
            (
                *g.key,
                g.requests,
                g.prompt_tokens,
                g.completion_tokens,
                g.local_tokens,
                f"{g.energy_j / 3600:.4f}",
                f"{g.energy_cost:.6f}",
                f"{g.api_cost:.6f}" if compare else "",
                f"{g.savings:.6f}" if compare else "",
                currency,
                compare.id if compare else "",
            )
        )
    return out.getvalue()
