"""Rows typed into the price editor → a ``PriceTable``, or one clear sentence saying what is
wrong and where. Pure (no files, no Qt), so the editor can check a save before sending it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

from app.backend.costs.prices import CloudPrice, PriceTable, PriceTableError

COLUMNS = ("Model", "Provider", "Input $/1M", "Output $/1M", "As of", "Source")


@dataclass(frozen=True)
class PriceRow:
    """One editor row as text, exactly as typed."""

    id: str
    provider: str = ""
    input: str = ""
    output: str = ""
    as_of: str = ""
    source: str = ""

    @classmethod
    def of(cls, price: CloudPrice, table_as_of: str = "") -> PriceRow:
        return cls(
            price.id,
            price.provider,
            f"{price.input_per_mtok:g}",
            f"{price.output_per_mtok:g}",
            price.as_of or table_as_of,
            price.source,
        )


def rows_of(table: PriceTable) -> list[PriceRow]:
    """The table as editor rows (each row shows the table's date unless it has its own)."""
    return [PriceRow.of(p, table.as_of) for p in table.prices]


def _price(text: str, what: str, where: str) -> float:
    cleaned = text.strip().lstrip("$").replace(",", "")
    if not cleaned:
        raise PriceTableError(f"{where}: the {what} price is empty.")
    try:
        value = float(cleaned)
    except ValueError:
        raise PriceTableError(
            f"{where}: the {what} price {text.strip()!r} is not a number."
        ) from None
    if not math.isfinite(value):
        raise PriceTableError(f"{where}: the {what} price must be a finite number.")
    if value < 0:
        raise PriceTableError(f"{where}: the {what} price must not be negative.")
    return value


def table_from_rows(rows: list[PriceRow], base: PriceTable) -> PriceTable:
    """The edited table (``base`` gives the date, note and sources); raises PriceTableError."""
    prices: list[CloudPrice] = []
    seen: set[str] = set()
    for n, row in enumerate(rows, 1):
        name = row.id.strip()
        where = f"Row {n}" + (f" ({name})" if name else "")
        if not name:
            raise PriceTableError(f"{where}: give the model a name.")
        if name in seen:
            raise PriceTableError(f"{where}: '{name}' is listed twice.")
        seen.add(name)
        day = row.as_of.strip()
        if day:
            try:
                date.fromisoformat(day)
            except ValueError:
                raise PriceTableError(
                    f"{where}: the date {day!r} is not like 2025-06-01."
                ) from None
        prices.append(
            CloudPrice(
                name,
                row.provider.strip(),
                _price(row.input, "input", where),
                _price(row.output, "output", where),
                day,
                row.source.strip(),
            )
        )
    if not prices:
        raise PriceTableError("The table needs at least one model.")
    return PriceTable(prices, base.as_of, base.note, list(base.sources), base.currency, True)
