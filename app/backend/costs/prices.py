"""The cloud price table: shipped defaults, or the user's edited copy in the data root."""

from __future__ import annotations

import copy
import json
import logging
import os
import tempfile
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from app.backend.costs.prices_default import DEFAULT_TABLE

log = logging.getLogger(__name__)
USER_FILE = "prices.json"


class PriceTableError(ValueError):
    """The table is malformed; ``str()`` says where."""


@dataclass(frozen=True)
class CloudPrice:
    """One model's list price in USD per million tokens."""

    id: str
    provider: str
    input_per_mtok: float
    output_per_mtok: float
    as_of: str = ""  # when this row's price was checked (empty: the table's date)
    source: str = ""  # where it came from (a URL or a note)

    def to_dict(self) -> dict[str, Any]:
        row: dict[str, Any] = {
            "id": self.id,
            "provider": self.provider,
            "input": self.input_per_mtok,
            "output": self.output_per_mtok,
        }
        if self.as_of:
            row["as_of"] = self.as_of
        if self.source:
            row["source"] = self.source
        return row


@dataclass
class PriceTable:
    prices: list[CloudPrice]
    as_of: str
    note: str = ""
    sources: list[str] = field(default_factory=list)
    currency: str = "USD"
    user_edited: bool = False  # loaded from the user's copy

    def get(self, price_id: str) -> CloudPrice | None:
        return next((p for p in self.prices if p.id == price_id), None)

    def ids(self) -> list[str]:
        return [p.id for p in self.prices]

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": 1,
            "as_of": self.as_of,
            "currency": self.currency,
            "unit": "per 1M tokens",
            "note": self.note,
            "sources": list(self.sources),
            "prices": [p.to_dict() for p in self.prices],
        }

    @classmethod
    def from_dict(cls, data: Any, user_edited: bool = False) -> PriceTable:
        if not isinstance(data, dict) or not isinstance(data.get("prices"), list):
            raise PriceTableError("expected an object with a 'prices' list")
        if data.get("currency", "USD") != "USD":
            raise PriceTableError(
                "prices must be in USD (convert with the 'Value of 1 USD' setting)"
            )
        prices: list[CloudPrice] = []
        seen: set[str] = set()
        for i, row in enumerate(data["prices"]):
            try:
                price = CloudPrice(
                    str(row["id"]).strip(),
                    str(row.get("provider", "")),
                    _money(row["input"]),
                    _money(row["output"]),
                    _day(row.get("as_of", "")),
                    str(row.get("source", "") or ""),
                )
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                raise PriceTableError(f"prices[{i}]: {exc}") from None
            if not price.id or price.id in seen:
                raise PriceTableError(f"prices[{i}]: empty or duplicate id {price.id!r}")
            seen.add(price.id)
            prices.append(price)
        sources = data.get("sources", [])
        return cls(
            prices,
            str(data.get("as_of", "")),
            str(data.get("note", "")),
            [str(s) for s in sources] if isinstance(sources, list) else [],
            "USD",
            user_edited,
        )


def _money(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ValueError(f"not a price: {value!r}")
    return float(value)


def _day(value: Any) -> str:
    """An optional ISO date ("" when absent)."""
    if value in (None, ""):
        return ""
    text = str(value).strip()
    date.fromisoformat(text)  # ValueError names the bad value
    return text


def default_table() -> PriceTable:
    return PriceTable.from_dict(copy.deepcopy(DEFAULT_TABLE))


def load_prices(data_root: Path) -> tuple[PriceTable, str | None]:
    """The user's copy if present and valid, else the defaults; plus a warning if it was bad."""
    path = data_root / USER_FILE
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return default_table(), None
    except OSError as exc:
        return default_table(), f"Could not read {USER_FILE} ({exc.strerror}); using defaults."
    try:
        return PriceTable.from_dict(json.loads(raw), user_edited=True), None
    except (ValueError, PriceTableError) as exc:
        log.warning("Ignoring %s: %s", path, exc)
        return default_table(), f"{USER_FILE} is not a valid price table ({exc}); using defaults."


def save_prices(data_root: Path, table: PriceTable) -> Path:
    """Write the user's copy atomically (it then wins over the defaults)."""
    path = data_root / USER_FILE
    payload = json.dumps(table.to_dict(), indent=2) + "\n"
    fd, tmp = tempfile.mkstemp(dir=data_root, prefix=f".{USER_FILE}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(payload)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def reset_prices(data_root: Path) -> None:
    """Drop the user's copy: the shipped defaults apply again."""
    (data_root / USER_FILE).unlink(missing_ok=True)
