"""Rows typed into the price editor → a ``PriceTable``, or one clear sentence saying what is
wrong and where. Pure (no files, no Qt), so the editor can check a save before sending it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

from app.backend.costs.prices import CloudPrice, PriceTable, PriceTableError

COLUMNS = ("Model", "Provider", "Input $/1M", "Output $/1M", "As of", "Source")


class RowError(PriceTableError):
    """A bad cell: ``row`` (0-based) and ``column`` (index into ``COLUMNS``) point at it."""

    def __init__(self, message: str, row: int, column: int) -> None:
        super().__init__(message)
        self.row = row
        self.column = column


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
    def of(cls, price: CloudPrice, table: PriceTable) -> PriceRow:
        return cls(
            price.id,
            price.provider,
            f"{price.input_per_mtok:g}",
            f"{price.output_per_mtok:g}",
            price.as_of or table.as_of,
            price.source or _provider_source(price.provider, table.sources),
        )


def _provider_source(provider: str, sources: list[str]) -> str:
    """The table's source line for ``provider`` ("OpenAI: https://..." → the URL)."""
    prefix = f"{provider}:"
    for line in sources:
        if provider and line.startswith(prefix):
            return line[len(prefix) :].strip()
    return ""


def rows_of(table: PriceTable) -> list[PriceRow]:
    """The table as editor rows: each shows the table's date and its provider's source
    unless it has its own."""
    return [PriceRow.of(p, table) for p in table.prices]


def _price(text: str, what: str, where: str, row: int, column: int) -> float:
    cleaned = text.strip().lstrip("$").replace(",", "")
    if not cleaned:
        raise RowError(f"{where}: the {what} price is empty.", row, column)
    try:
        value = float(cleaned)
    except ValueError:
        raise RowError(
            f"{where}: the {what} price {text.strip()!r} is not a number.", row, column
        ) from None
    if not math.isfinite(value):
        raise RowError(f"{where}: the {what} price must be a finite number.", row, column)
    if value < 0:
        raise RowError(f"{where}: the {what} price must not be negative.", row, column)
    return value


def table_from_rows(rows: list[PriceRow], base: PriceTable) -> PriceTable:
    """The edited table (``base`` gives the date, note and sources); raises PriceTableError."""
    prices: list[CloudPrice] = []
    seen: set[str] = set()
    for i, row in enumerate(rows):
        name = row.id.strip()
        where = f"Row {i + 1}" + (f" ({name})" if name else "")
        if not name:
            raise RowError(f"{where}: give the model a name.", i, 0)
        if name in seen:
            raise RowError(f"{where}: '{name}' is listed twice.", i, 0)
        seen.add(name)
        day = row.as_of.strip()
        if day:
            try:
                date.fromisoformat(day)
            except ValueError:
                raise RowError(f"{where}: the date {day!r} is not like 2025-06-01.", i, 4) from None
        prices.append(
            CloudPrice(
                name,
                row.provider.strip(),
                _price(row.input, "input", where, i, 2),
                _price(row.output, "output", where, i, 3),
                day,
                row.source.strip(),
            )
        )
    if not prices:
        raise PriceTableError("The table needs at least one model.")
    return PriceTable(prices, base.as_of, base.note, list(base.sources), base.currency, True)
