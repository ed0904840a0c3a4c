"""The shipped price table is dated and sourced; the user's copy wins; bad copies fall back."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.backend.costs import PriceTable, PriceTableError, default_table, load_prices
from app.backend.costs.prices import USER_FILE, CloudPrice, reset_prices, save_prices
from app.backend.settings.schema import CostSettings


def test_defaults_are_dated_sourced_and_priced_separately() -> None:
    table = default_table()
    assert table.as_of and table.as_of in table.note and "verify" in table.note.lower()
    assert len(table.sources) >= 3 and all("http" in s for s in table.sources)
    assert len(table.prices) >= 10
    for price in table.prices:
        assert price.output_per_mtok >= price.input_per_mtok > 0
    assert table.get(CostSettings().compare_with) is not None  # the default comparison exists


def test_user_copy_wins_and_reset_restores_defaults(tmp_path: Path) -> None:
    table = default_table()
    table.prices.append(CloudPrice("my-model", "Me", 1.0, 2.0))
    save_prices(tmp_path, table)
    loaded, warning = load_prices(tmp_path)
    assert warning is None and loaded.user_edited and loaded.get("my-model") is not None
    reset_prices(tmp_path)
    loaded, _ = load_prices(tmp_path)
    assert not loaded.user_edited and loaded.get("my-model") is None


@pytest.mark.parametrize(
    "content",
    [
        "not json",
        json.dumps({"prices": [{"id": "a", "input": -1, "output": 1}]}),
        json.dumps({"prices": [{"id": "a", "input": 1, "output": 1}] * 2}),
        json.dumps({"currency": "EUR", "prices": []}),
        json.dumps([1, 2]),
    ],
)
def test_a_broken_user_copy_falls_back_with_a_warning(tmp_path: Path, content: str) -> None:
    (tmp_path / USER_FILE).write_text(content)
    table, warning = load_prices(tmp_path)
    assert warning and USER_FILE in warning
    assert not table.user_edited and table.prices


def test_from_dict_names_the_bad_row() -> None:
    with pytest.raises(PriceTableError, match=r"prices\[1\]"):
        PriceTable.from_dict({"prices": [{"id": "a", "input": 1, "output": 2}, {"id": "b"}]})
