"""Cost arithmetic, kept to one-liners so every number on the Usage page can be checked by hand.

Units: energy in joules (1 kWh = 3,600,000 J), cloud prices in USD per million tokens,
money in the user's currency (``usd_rate`` converts USD into it).
"""

from __future__ import annotations

from app.backend.costs.prices import CloudPrice

JOULES_PER_KWH = 3_600_000.0
DAYS_PER_MONTH = 30.4375  # 365.25 / 12


def energy_cost(joules: float, price_per_kwh: float) -> float:
    """Electricity cost of ``joules``."""
    return joules / JOULES_PER_KWH * price_per_kwh


def per_1k(cost: float, tokens: int) -> float | None:
    """Cost per 1,000 tokens; None when there were no tokens."""
    return cost / tokens * 1000.0 if tokens > 0 else None


def api_cost(
    prompt_tokens: int, completion_tokens: int, price: CloudPrice, usd_rate: float = 1.0
) -> float:
    """What a cloud API would have charged for these tokens, in the user's currency."""
    usd = (prompt_tokens * price.input_per_mtok + completion_tokens * price.output_per_mtok) / 1e6
    return usd * usd_rate


def hardware_per_month(hardware_price: float, months: int) -> float:
    """Straight-line amortisation."""
    return hardware_price / months if months > 0 else 0.0


def months_to_break_even(hardware_price: float, savings_per_month: float) -> float | None:
    """Months of use until savings repay the hardware; None when they never will."""
    if hardware_price <= 0 or savings_per_month <= 0:
        return None
    return hardware_price / savings_per_month
