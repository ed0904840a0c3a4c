"""The Usage page: numbers and charts equal the usage records; light and dark screenshots;
the remote engines dialog; the Local only badge."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from PySide6.QtCore import QThread
from PySide6.QtWidgets import QApplication

from app.backend.core import HearthCore
from app.backend.costs import build_report, default_table, totals_by_day
from app.ui.pages.remotes import RemotesDialog
from app.ui.pages.usage import UsagePage
from app.ui.privacy_badge import LocalOnlyBadge
from app.ui.theme import ThemeManager
from app.ui.usage_bridge import UsageBridge

SHOTS = Path(os.environ.get("HEARTH_SCREENSHOTS", "/tmp/hearth-screenshots"))


def _seed(core: HearthCore, days: int = 12) -> None:
    start = date.today() - timedelta(days=days - 1)
    for i in range(days):
        day = start + timedelta(days=i)
        ts = datetime(day.year, day.month, day.day, 12).timestamp()
        for source, scale in (("chat", 1), ("api:ci", 3)):
            prompt, out = 40_000 * scale + 9_000 * i, 12_000 * scale + 2_500 * i
            energy = (prompt + out) * 0.35  # joules: ~0.35 J per token
            core.usage.record(source, "google/gemma-3-270m/Q4_K_M", prompt, out, ts, 30, energy)
        if i % 4 == 0:
            core.usage.record("chat", "remote:lab/llama", 5_000, 1_000, ts, 4, None, "remote:lab")
    for n in range(5):
        core.audit.append(
            client=f"token-{n % 2}", model="google/gemma-3-270m/Q4_K_M", tokens_in=100 + n,
            tokens_out=20, status=200 if n != 3 else 503, path="/v1/chat/completions",
        )  # fmt: skip


@pytest.fixture
def core() -> Iterator[HearthCore]:
    c = HearthCore()
    c.settings.costs.hardware_price = 40.0
    c.settings.costs.currency = "EUR"
    yield c
    c.close()


@pytest.fixture
def page(qtbot, core: HearthCore) -> Iterator[tuple[UsagePage, UsageBridge]]:
    bridge = UsageBridge(core)
    thread = QThread()
    bridge.moveToThread(thread)
    thread.start()
    widget = UsagePage()
    widget.connect_bridge(bridge)
    qtbot.addWidget(widget)
    widget.resize(1100, 1250)
    yield widget, bridge
    thread.quit()
    thread.wait(5000)


def _shown(qtbot, widget: UsagePage) -> None:
    widget.view = None
    widget.show()  # showEvent asks the bridge for a report
    qtbot.waitUntil(lambda: widget.view is not None, timeout=10_000)


def test_dashboard_numbers_match_the_records(qtbot, core: HearthCore, page) -> None:
    widget, _bridge = page
    _seed(core)
    _shown(qtbot, widget)
    assert widget.view is not None
    report = widget.view.report
    expected = build_report(core.usage.store.daily(), core.settings.costs, default_table())
    assert report.savings == pytest.approx(expected.savings)
    # The tokens chart shows exactly the stored tokens per day (in + out).
    per_day = totals_by_day(core.usage.store.daily())
    chart = widget.tokens_chart
    stacked = [sum(s.values[i] or 0 for s in chart.series) for i in range(len(chart.labels))]
    assert stacked == [per_day[d] for d in sorted(per_day)]
    assert len(chart.labels) == 12
    # Cards print the report's numbers.
    total = sum(r.total_tokens for r in core.usage.store.records())
    assert report.total_prompt_tokens + report.total_completion_tokens == total
    assert widget.cards["savings"].value.text().endswith("EUR")
    assert widget.cards["break_even"].value.text().startswith("month ")
    savings = widget.savings_chart.series[0].values
    assert savings[-1] == pytest.approx(report.savings)
    assert widget.cost_chart.series[1].name == "gpt-4o-mini"
    # The audit table lists the newest entry first and says the chain is intact.
    assert widget.audit_table.rowCount() == 5
    assert widget.audit_table.item(0, 1).text() == "token-0"
    assert "chain intact" in widget.audit_state.text()
    assert "verify" in widget.footnote.text().lower()


def test_choosing_another_cloud_model_changes_the_comparison(qtbot, core, page) -> None:
    widget, _bridge = page
    _seed(core, days=3)
    _shown(qtbot, widget)
    before = widget.view.report.api_cost
    index = widget.compare.findData("claude-opus-4")
    widget.compare.setCurrentIndex(index)
    widget.view = None
    widget.compare.activated.emit(index)
    qtbot.waitUntil(lambda: widget.view is not None, timeout=10_000)
    assert widget.view.report.compare.id == "claude-opus-4"
    assert widget.view.report.api_cost > before * 20


def test_csv_export(qtbot, core, page, tmp_path: Path) -> None:
    widget, _bridge = page
    _seed(core, days=2)
    # Wait on what the user sees, not with waitSignal: the bridge emits from its own thread,
    # and pytest-qt's blocker would then stop its timer from that thread (a Qt warning).
    widget.export_requested.emit(str(tmp_path / "u.csv"), "")
    qtbot.waitUntil(lambda: "Usage exported" in widget.status.text(), timeout=10_000)
    lines = (tmp_path / "u.csv").read_text().splitlines()
    assert lines[0].startswith("day,model,source") and len(lines) == 1 + 5
    widget.audit_export_requested.emit(str(tmp_path / "a.csv"))
    qtbot.waitUntil(lambda: "Audit log exported" in widget.status.text(), timeout=10_000)
    assert len((tmp_path / "a.csv").read_text().splitlines()) == 1 + 5


def test_a_tampered_audit_log_is_flagged(qtbot, core, page) -> None:
    widget, _bridge = page
    _seed(core, days=1)
    text = core.audit.path.read_text().replace('"tokens_in": 101', '"tokens_in": 1')
    core.audit.path.write_text(text)
    _shown(qtbot, widget)
    assert "Chain broken at line 2" in widget.audit_state.text()


def test_empty_dashboard(qtbot, page) -> None:
    widget, _bridge = page
    _shown(qtbot, widget)
    assert widget.cards["tokens"].value.text() == "0"
    assert widget.tokens_chart.labels == []
    widget.grab()  # paints the empty state without warnings


@pytest.mark.parametrize("mode", ["light", "dark"])
def test_screenshots_in_light_and_dark(qtbot, core, page, mode: str) -> None:
    widget, _bridge = page
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    theme = ThemeManager(app)
    theme.apply(mode)
    try:
        _seed(core)
        _shown(qtbot, widget)
        qtbot.wait(50)
        SHOTS.mkdir(parents=True, exist_ok=True)
        image = widget.grab().toImage()
        assert image.save(str(SHOTS / f"usage-{mode}.png"))
        # The chart background follows the theme (dark surface in dark mode).
        pixel = widget.tokens_chart.grab().toImage().pixelColor(30, 100)
        assert (pixel.lightness() < 80) == (mode == "dark")
    finally:
        theme.apply("light")


def test_remotes_dialog_saves_an_endpoint_and_a_fallback(qtbot, core, page) -> None:
    _widget, bridge = page
    dialog = RemotesDialog()
    qtbot.addWidget(dialog)
    dialog.connect_bridge(bridge)
    dialog.name.setText("lab")
    dialog.url.setText("http://gpu-box:8000/v1")
    assert "unencrypted" in dialog.url_note.text()
    dialog.save_button.click()
    qtbot.waitUntil(lambda: dialog.endpoints.count() == 1, timeout=15_000)
    assert [e.name for e in core.remotes.endpoints()] == ["lab"]
    dialog.fb_model.setText("google/gemma-3-270m/Q4_K_M")
    dialog.fb_remote.addItem("llama · lab", "remote:lab/llama")
    dialog.fb_busy.setValue(3)
    dialog.fb_save.click()
    qtbot.waitUntil(lambda: dialog.rules.count() == 1, timeout=10_000)
    rule = core.settings_store.load().fallback["google/gemma-3-270m/Q4_K_M"]
    assert (rule.remote_model, rule.busy_in_flight) == ("remote:lab/llama", 3)


def test_local_only_badge_and_dialog_banner(qtbot, core, page) -> None:
    _widget, bridge = page
    badge = LocalOnlyBadge()
    qtbot.addWidget(badge)
    badge.set_on(True)
    assert not badge.isHidden() and "Local only" in badge.text()
    core.settings.privacy.local_only = True
    dialog = RemotesDialog()
    qtbot.addWidget(dialog)
    dialog.connect_bridge(bridge)
    dialog.list_requested.emit(True)
    qtbot.waitUntil(lambda: dialog.view is not None, timeout=10_000)
    assert not dialog.banner.isHidden() and not dialog.save_button.isEnabled()
