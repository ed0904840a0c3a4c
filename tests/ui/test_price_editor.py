"""The cloud price editor on the Usage page: bad values are refused with a clear sentence and
nothing typed is lost; a saved edit is written to the data root and the dashboard's numbers
follow it (checked against arithmetic done here); a new model can be compared with; Reset
brings back the shipped table."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime, timedelta

import pytest
from PySide6.QtCore import QThread

from app.backend.core import HearthCore
from app.backend.costs import default_table
from app.backend.costs.prices import USER_FILE
from app.ui.pages.price_editor import PriceEditor
from app.ui.pages.usage import UsagePage
from app.ui.usage_bridge import UsageBridge

# (source, model, prompt tokens, completion tokens, joules, engine)
RECORDS = [
    ("chat", "acme/tiny/F32", 12_000, 3_000, 7_200.0, "local"),
    ("api:ci", "acme/tiny/F32", 30_000, 9_000, 3_600.0, "local"),
    ("api:ci", "remote:lab/x", 50_000, 50_000, None, "remote:lab"),  # not charged, not compared
]
LOCAL_IN = 12_000 + 30_000
LOCAL_OUT = 3_000 + 9_000
ELECTRICITY = (7_200 + 3_600) / 3_600_000 * 0.30  # kWh × the default 0.30 per kWh


@pytest.fixture
def core() -> Iterator[HearthCore]:
    c = HearthCore()
    yesterday = date.today() - timedelta(days=1)
    ts = datetime(yesterday.year, yesterday.month, yesterday.day, 12).timestamp()
    for source, model, p, c_out, joules, engine in RECORDS:
        c.usage.record(source, model, p, c_out, ts, 10, joules, engine)
    yield c
    c.close()


@pytest.fixture
def page(qtbot, core: HearthCore) -> Iterator[UsagePage]:
    bridge = UsageBridge(core)
    thread = QThread()
    bridge.moveToThread(thread)
    thread.start()
    widget = UsagePage()
    widget.connect_bridge(bridge)
    qtbot.addWidget(widget)
    widget.resize(1100, 900)
    widget.show()
    qtbot.waitUntil(lambda: widget.view is not None, timeout=10_000)
    yield widget
    if widget.price_editor is not None:
        widget.price_editor.close()
    thread.quit()
    thread.wait(5000)


def _open_editor(qtbot, widget: UsagePage) -> PriceEditor:
    widget.prices_button.click()
    qtbot.waitUntil(
        lambda: widget.price_editor is not None and widget.price_editor.isVisible(),
        timeout=10_000,
    )
    assert widget.price_editor is not None
    return widget.price_editor


def _row(editor: PriceEditor, model: str) -> int:
    ids = [editor.table.item(r, 0).text() for r in range(editor.table.rowCount())]
    return ids.index(model)


def _save_and_wait(qtbot, widget: UsagePage, editor: PriceEditor) -> None:
    widget.view = None
    editor.save_button.click()
    qtbot.waitUntil(lambda: not editor.isVisible() and widget.view is not None, timeout=10_000)


def _cost(input_per_m: float, output_per_m: float) -> float:
    return (LOCAL_IN * input_per_m + LOCAL_OUT * output_per_m) / 1e6


def test_bad_values_are_refused_and_nothing_is_lost(qtbot, core: HearthCore, page) -> None:
    editor = _open_editor(qtbot, page)
    assert editor.table.rowCount() == len(default_table().prices)
    row = _row(editor, "gpt-4o-mini")
    n = row + 1
    editor.table.item(row, 2).setText("abc")
    editor.save_button.click()
    assert editor.error.text() == f"Row {n} (gpt-4o-mini): the input price 'abc' is not a number."
    assert (editor.table.currentRow(), editor.table.currentColumn()) == (row, 2)  # the bad cell
    editor.table.item(row, 2).setText("0.2")
    editor.table.item(row, 3).setText("-1")
    editor.save_button.click()
    assert editor.error.text() == f"Row {n} (gpt-4o-mini): the output price must not be negative."
    editor.table.item(row, 3).setText("0.8")
    editor.add_row()
    editor.save_button.click()
    last = editor.table.rowCount()
    assert editor.error.text() == f"Row {last}: give the model a name."
    # Still open, with what was typed, and nothing written.
    assert editor.isVisible() and editor.table.item(row, 3).text() == "0.8"
    assert not (core.paths.root / USER_FILE).exists()


def test_an_edited_price_is_saved_and_the_dashboard_follows(qtbot, core, page) -> None:
    report = page.view.report
    assert report.compare.id == "gpt-4o-mini"
    assert report.api_cost == pytest.approx(_cost(0.15, 0.60))  # the shipped price
    editor = _open_editor(qtbot, page)
    row = _row(editor, "gpt-4o-mini")
    editor.table.item(row, 2).setText("1.5")
    editor.table.item(row, 3).setText("$4")
    assert editor.table.item(row, 4).text() == date.today().isoformat()  # dated by the edit
    _save_and_wait(qtbot, page, editor)

    report = page.view.report
    assert report.api_cost == pytest.approx(_cost(1.5, 4.0))
    assert report.savings == pytest.approx(_cost(1.5, 4.0) - ELECTRICITY)
    assert page.cards["savings"].value.text() == f"{_cost(1.5, 4.0) - ELECTRICITY:,.2f} USD"
    assert "saved" in page.status.text()
    saved = json.loads((core.paths.root / USER_FILE).read_text())
    mini = next(p for p in saved["prices"] if p["id"] == "gpt-4o-mini")
    assert (mini["input"], mini["output"], mini["as_of"]) == (1.5, 4.0, date.today().isoformat())

    # A model of one's own, then compared with.
    editor = _open_editor(qtbot, page)
    editor.add_row()
    last = editor.table.rowCount() - 1
    for column, text in enumerate(("my-cloud", "Me", "10", "20")):
        editor.table.item(last, column).setText(text)
    _save_and_wait(qtbot, page, editor)
    index = page.compare.findData("my-cloud")
    assert index >= 0
    page.compare.setCurrentIndex(index)
    page.view = None
    page.compare.activated.emit(index)
    qtbot.waitUntil(lambda: page.view is not None, timeout=10_000)
    assert page.view.report.compare.id == "my-cloud"
    assert page.view.report.api_cost == pytest.approx(_cost(10, 20))

    # Reset to defaults: the user's copy goes, the shipped prices apply again.
    editor = _open_editor(qtbot, page)
    editor.fill_defaults()
    assert editor.table.rowCount() == len(default_table().prices)
    _save_and_wait(qtbot, page, editor)
    assert not (core.paths.root / USER_FILE).exists()
    assert page.compare.findData("my-cloud") == -1
    page.view = None
    page.compare.setCurrentIndex(page.compare.findData("gpt-4o-mini"))
    page.refresh()
    qtbot.waitUntil(lambda: page.view is not None, timeout=10_000)
    assert page.view.report.api_cost == pytest.approx(_cost(0.15, 0.60))
