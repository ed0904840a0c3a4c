"""What local generation costs and saves: prices, per-1K costs, savings, break-even (Qt-free)."""

from app.backend.costs.calc import (
    JOULES_PER_KWH,
    api_cost,
    energy_cost,
    hardware_per_month,
    months_to_break_even,
    per_1k,
)
from app.backend.costs.prices import (
    CloudPrice,
    PriceTable,
    PriceTableError,
    default_table,
    load_prices,
    reset_prices,
    save_prices,
)
from app.backend.costs.report import (
    CSV_COLUMNS,
    CostReport,
    DayCost,
    build_report,
    export_csv,
    totals_by_day,
    usage_csv,
)

__all__ = [
    "CSV_COLUMNS",
    "JOULES_PER_KWH",
    "CloudPrice",
    "CostReport",
    "DayCost",
    "PriceTable",
    "PriceTableError",
    "api_cost",
    "build_report",
    "default_table",
    "energy_cost",
    "export_csv",
    "hardware_per_month",
    "load_prices",
    "months_to_break_even",
    "per_1k",
    "reset_prices",
    "save_prices",
    "totals_by_day",
    "usage_csv",
]
