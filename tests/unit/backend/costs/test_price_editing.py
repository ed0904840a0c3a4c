"""Editor rows → price table: every refusal names the row and the field; a good table
round-trips through the user's file with its per-row dates and sources."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.backend.costs import PriceTableError, default_table, load_prices, save_prices
from app.backend.costs.editing import COLUMNS, PriceRow, RowError, rows_of, table_from_rows


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (PriceRow("m", input="x1", output="1"), "the input price 'x1' is not a number."),
        (PriceRow("m", input="1", output=""), "the output price is empty."),
        (PriceRow("m", input="-0.5", output="1"), "the input price must not be negative."),
        (PriceRow("m", input="nan", output="1"), "the input price must be a finite number."),
        (PriceRow("a", input="1", output="1"), "'a' is listed twice."),
        (PriceRow("m", "", "1", "1", "June"), "the date 'June' is not like 2025-06-01."),
    ],
)  # fmt: skip
def test_bad_rows_are_refused_with_the_row_and_field(row: PriceRow, message: str) -> None:
    good = PriceRow("a", input="1", output="2")
    with pytest.raises(RowError) as caught:
        table_from_rows([good, row], default_table())
    assert str(caught.value) == f"Row 2 ({row.id}): {message}"
    assert caught.value.row == 1 and 0 <= caught.value.column < len(COLUMNS)


def test_a_row_without_a_name_is_refused() -> None:
    with pytest.raises(PriceTableError, match=r"^Row 1: give the model a name\.$"):
        table_from_rows([PriceRow("  ", input="1", output="1")], default_table())


def test_an_empty_table_is_refused() -> None:
    with pytest.raises(PriceTableError, match="at least one model"):
        table_from_rows([], default_table())


def test_edited_rows_round_trip_with_dates_and_sources(tmp_path: Path) -> None:
    rows = rows_of(default_table())
    # A shipped row shows the table's date and its provider's source.
    assert rows[0].as_of == default_table().as_of
    assert (rows[0].provider, rows[0].source) == ("OpenAI", "https://openai.com/api/pricing/")
    rows.append(PriceRow("mine", "Me", "$1,000", " 2.5 ", "2026-01-31", "invoice 7"))
    table = table_from_rows(rows, default_table())
    save_prices(tmp_path, table)
    loaded, warning = load_prices(tmp_path)
    assert warning is None and loaded.user_edited
    mine = loaded.get("mine")
    assert mine is not None
    assert (mine.input_per_mtok, mine.output_per_mtok) == (1000.0, 2.5)
    assert (mine.as_of, mine.source) == ("2026-01-31", "invoice 7")
    # Every row comes back as it was typed (numbers normalised).
    assert [r.id for r in rows_of(loaded)] == [r.id for r in rows]
    assert rows_of(loaded)[-1] == PriceRow("mine", "Me", "1000", "2.5", "2026-01-31", "invoice 7")
