"""The Usage page: tokens, energy, cost per 1K tokens against a cloud price, savings, audit.

Every number comes from ``app.backend.costs.build_report`` over the usage records (computed
on the usage bridge's thread); this page only lays them out and draws the charts.
"""

from __future__ import annotations

import math

from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QScrollArea,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.backend.costs import CostReport, PriceTable
from app.ui.pages.price_editor import PriceEditor
from app.ui.pages.usage_charts import LineChart, Series, StackedBarChart, compact
from app.ui.theme import repolish
from app.ui.usage_bridge import UsageBridge, UsageView

AUDIT_COLUMNS = ("Time (UTC)", "Client", "Model", "Engine", "In", "Out", "Status")


def money(value: float | None, currency: str) -> str:
    """Costs per 1K tokens are tiny: keep three significant digits below one cent."""
    if value is None:
        return "—"
    if 0 < abs(value) < 0.01:
        decimals = 2 - math.floor(math.log10(abs(value)))  # three significant digits
        text = f"{value:.{decimals}f}"
    else:
        text = f"{value:,.2f}"
    return f"{text} {currency}"


def energy(joules: float) -> str:
    wh = joules / 3600
    return f"{wh / 1000:.2f} kWh" if wh >= 1000 else f"{wh:.1f} Wh"


class StatCard(QFrame):
    """A number with a caption and a muted detail line."""

    def __init__(self, caption: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("card")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(14, 10, 14, 10)
        layout.setSpacing(2)
        self.caption = QLabel(caption)
        self.caption.setObjectName("muted")
        self.value = QLabel("—")
        self.value.setStyleSheet("font-size: 15pt; font-weight: 700;")
        self.value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.detail = QLabel("")
        self.detail.setObjectName("muted")
        self.detail.setWordWrap(True)
        for w in (self.caption, self.value, self.detail):
            layout.addWidget(w)
        self.setAccessibleName(caption)

    def set(self, value: str, detail: str = "") -> None:
        self.value.setText(value)
        self.detail.setText(detail)
        self.setAccessibleDescription(f"{value}. {detail}")


class UsagePage(QWidget):
    refresh_requested = Signal(str)  # comparison price id
    export_requested = Signal(str, str)  # path, comparison price id
    audit_export_requested = Signal(str)
    remotes_requested = Signal()
    prices_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.view: UsageView | None = None
        self.price_editor: PriceEditor | None = None
        self._bridge: UsageBridge | None = None
        self._pending = QTimer(self)
        self._pending.setSingleShot(True)
        self._pending.setInterval(1000)
        self._pending.timeout.connect(self.refresh)

        title = QLabel("Usage")
        title.setObjectName("pageTitle")
        subtitle = QLabel("What running models here costs, what it saves, and where data went.")
        subtitle.setObjectName("pageSubtitle")
        self.compare = QComboBox()
        self.compare.setAccessibleName("Compare with cloud model")
        self.compare.setToolTip("The cloud API price the same tokens are compared with")
        self.compare.setMinimumWidth(170)
        self.compare.activated.connect(lambda _i: self.refresh())
        self.export_button = QPushButton("Export CSV…")
        self.export_button.setAccessibleName("Export usage as CSV")
        self.export_button.clicked.connect(self._choose_export)
        self.remotes_button = QPushButton("Remote engines…")
        self.remotes_button.setAccessibleName("Manage remote engines")
        self.remotes_button.clicked.connect(self.remotes_requested)
        self.prices_button = QPushButton("Cloud prices…")
        self.prices_button.setAccessibleName("Edit cloud prices")
        self.prices_button.setToolTip("View and edit the cloud price table the savings use")
        self.prices_button.clicked.connect(self._open_prices)
        bar = QHBoxLayout()
        bar.addWidget(QLabel("Compare with"))
        bar.addWidget(self.compare)
        bar.addWidget(self.prices_button)
        bar.addStretch(1)
        bar.addWidget(self.remotes_button)
        bar.addWidget(self.export_button)

        self.notice = QLabel("")
        self.notice.setObjectName("notice")
        self.notice.setWordWrap(True)
        self.notice.hide()
        self.status = QLabel("")
        self.status.setObjectName("muted")
        self.status.setAccessibleName("Usage status")

        self.cards = {
            "tokens": StatCard("Tokens"),
            "energy": StatCard("Energy"),
            "local": StatCard("Local cost per 1K tokens"),
            "api": StatCard("Cloud cost per 1K tokens"),
            "savings": StatCard("Savings to date"),
            "break_even": StatCard("Hardware break-even"),
        }
        cards = QGridLayout()
        cards.setSpacing(10)
        for i, card in enumerate(self.cards.values()):
            cards.addWidget(card, i // 3, i % 3)

        self.tokens_chart = StackedBarChart("Tokens per day")
        self.cost_chart = LineChart("Cost per 1K tokens", fmt=lambda v: f"{v:.3g}")
        self.savings_chart = LineChart("Cumulative savings", fmt=lambda v: f"{v:.3g}", fill=True)
        charts = QGridLayout()
        charts.setSpacing(10)
        charts.addWidget(self.tokens_chart, 0, 0)
        charts.addWidget(self.cost_chart, 0, 1)
        charts.addWidget(self.savings_chart, 1, 0, 1, 2)

        self.audit_table = QTableWidget(0, len(AUDIT_COLUMNS))
        self.audit_table.setHorizontalHeaderLabels(AUDIT_COLUMNS)
        self.audit_table.setAccessibleName("API audit log")
        self.audit_table.verticalHeader().hide()
        self.audit_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.audit_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.audit_table.horizontalHeader().setSectionResizeMode(
            QHeaderView.ResizeMode.ResizeToContents
        )
        self.audit_table.horizontalHeader().setStretchLastSection(True)
        self.audit_table.setMinimumHeight(160)
        self.audit_state = QLabel("")
        self.audit_state.setAccessibleName("Audit log check")
        self.audit_export = QPushButton("Export audit log…")
        self.audit_export.setAccessibleName("Export audit log")
        self.audit_export.clicked.connect(self._choose_audit_export)
        audit_card = QFrame()
        audit_card.setObjectName("card")
        audit_layout = QVBoxLayout(audit_card)
        audit_layout.setContentsMargins(14, 10, 14, 12)
        heading = QHBoxLayout()
        audit_title = QLabel("API audit log")
        audit_title.setObjectName("sectionTitle")
        heading.addWidget(audit_title)
        heading.addWidget(self.audit_state, 1)
        heading.addWidget(self.audit_export)
        audit_layout.addLayout(heading)
        explain = QLabel(
            "Every API request: time, client, model, tokens and status, never content. "
            "Append-only and hash-chained, so edits and deletions show."
        )
        explain.setObjectName("help")
        explain.setWordWrap(True)
        audit_layout.addWidget(explain)
        audit_layout.addWidget(self.audit_table)

        self.footnote = QLabel("")
        self.footnote.setObjectName("help")
        self.footnote.setWordWrap(True)
        self.footnote.setAccessibleName("Prices and measurement notes")

        content = QWidget()
        column = QVBoxLayout(content)
        column.setContentsMargins(28, 22, 28, 18)
        column.setSpacing(12)
        column.addWidget(title)
        column.addWidget(subtitle)
        column.addLayout(bar)
        column.addWidget(self.notice)
        column.addLayout(cards)
        column.addLayout(charts)
        column.addWidget(audit_card)
        column.addWidget(self.footnote)
        column.addWidget(self.status)
        column.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(content)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)

    # ------------------------------------------------------------------ wiring
    def connect_bridge(self, bridge: UsageBridge) -> None:
        self.refresh_requested.connect(bridge.refresh)
        self.export_requested.connect(bridge.export_usage)
        self.audit_export_requested.connect(bridge.export_audit)
        bridge.usage_ready.connect(self.show_view)
        bridge.usage_changed.connect(self._on_usage_changed)
        bridge.exported.connect(self.status.setText)
        bridge.failed.connect(self.show_notice)
        self._bridge = bridge
        self.prices_requested.connect(bridge.load_price_table)
        bridge.prices_loaded.connect(self.edit_prices)
        bridge.prices_saved.connect(self._on_prices_saved)

    @Slot(object, object)
    def edit_prices(self, table: PriceTable, warning: object) -> None:
        """Open the price editor on ``table`` (created once, wired to the same bridge)."""
        if self.price_editor is None:
            editor = PriceEditor(self)
            bridge = self._bridge
            if bridge is not None:
                editor.save_requested.connect(bridge.save_price_table)
                editor.reset_requested.connect(bridge.reset_price_table)
                bridge.prices_saved.connect(editor.saved)
                bridge.prices_failed.connect(editor.save_failed)
            self.price_editor = editor
        self.price_editor.show_table(table, warning if isinstance(warning, str) else None)
        self.price_editor.show()

    @Slot()
    def _open_prices(self) -> None:
        """Bring an open editor forward (keeping what is typed), or load the table afresh."""
        if self.price_editor is not None and self.price_editor.isVisible():
            self.price_editor.raise_()
            return
        self.prices_requested.emit()

    @Slot(str)
    def _on_prices_saved(self, message: str) -> None:
        self.status.setText(message)
        self.refresh()  # the dashboard's numbers follow the new prices

    @Slot()
    def refresh(self) -> None:
        self.refresh_requested.emit(str(self.compare.currentData() or ""))

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.refresh()

    @Slot()
    def _on_usage_changed(self) -> None:
        if self.isVisible() and not self._pending.isActive():
            self._pending.start()

    def show_notice(self, text: str) -> None:
        self.notice.setText(text)
        self.notice.setVisible(bool(text))

    # ----------------------------------------------------------------- showing
    @Slot(object)
    def show_view(self, view: UsageView) -> None:
        self.view = view
        report = view.report
        self._fill_compare(view.price_ids, report.compare.id if report.compare else "")
        self.show_notice(view.prices_warning or "")
        self._fill_cards(report)
        self._fill_charts(report)
        self._fill_audit(view)
        self.footnote.setText(
            f"Cloud prices: {view.prices_note} Energy: {view.power_source}. "
            "Costs count only tokens generated on this computer; remote engines are listed "
            "in the tokens chart but not charged here."
        )

    def _fill_compare(self, ids: list[str], current: str) -> None:
        if [self.compare.itemData(i) for i in range(self.compare.count())] != ids:
            self.compare.clear()
            for price_id in ids:
                self.compare.addItem(price_id, price_id)
        index = self.compare.findData(current)
        if index >= 0:
            self.compare.setCurrentIndex(index)

    def _fill_cards(self, r: CostReport) -> None:
        cur = r.currency
        total = r.total_prompt_tokens + r.total_completion_tokens
        self.cards["tokens"].set(
            compact(total),
            f"{compact(r.total_prompt_tokens)} in · {compact(r.total_completion_tokens)} out",
        )
        share = f"{r.measured_share:.0%} of local tokens measured" if r.local_tokens else ""
        self.cards["energy"].set(energy(r.energy_j), f"{money(r.energy_cost, cur)} · {share}")
        hardware = (
            f"energy {money(r.energy_per_1k, cur)} + hardware {money(r.hardware_per_1k, cur)}"
            if r.hardware_per_1k is not None
            else "energy only (no hardware price set)"
        )
        self.cards["local"].set(money(r.local_per_1k, cur), hardware)
        name = r.compare.id if r.compare else "no cloud model"
        self.cards["api"].set(money(r.api_per_1k, cur), f"{name}, input and output priced apart")
        self.cards["savings"].set(
            money(r.savings, cur),
            f"cloud {money(r.api_cost, cur)} − electricity {money(r.energy_cost, cur)}",
        )
        if r.break_even_months is not None:
            self.cards["break_even"].set(
                f"month {r.break_even_months:.1f}",
                f"about {r.break_even_date}, at {money(r.savings_per_month, cur)} saved a month",
            )
        else:
            why = "set a hardware price in Settings" if not r.hardware_per_1k else "no savings yet"
            self.cards["break_even"].set("—", why)

    def _fill_charts(self, r: CostReport) -> None:
        labels = [d.day[5:] for d in r.days]  # MM-DD
        self.tokens_chart.set_data(
            labels,
            [
                Series("In", [float(d.prompt_tokens) for d in r.days], "accent"),
                Series("Out", [float(d.completion_tokens) for d in r.days], "assistant"),
            ],
        )
        self.cost_chart.title = f"Cost per 1K tokens ({r.currency})"
        cloud = r.compare.id if r.compare else "Cloud"
        self.cost_chart.set_data(
            labels,
            [
                Series("Local", [d.local_per_1k for d in r.days], "assistant"),
                Series(cloud, [d.api_per_1k for d in r.days], "danger"),
            ],
        )
        self.savings_chart.title = f"Cumulative savings ({r.currency})"
        self.savings_chart.set_data(
            labels, [Series("Savings", [d.cumulative_savings for d in r.days], "accent")]
        )

    def _fill_audit(self, view: UsageView) -> None:
        entries = list(reversed(view.audit))
        self.audit_table.setRowCount(len(entries))
        for row, e in enumerate(entries):
            values = (
                str(e.get("time", "")).replace("T", " ")[:19],
                e.get("client", ""),
                e.get("model", ""),
                e.get("engine", ""),
                e.get("tokens_in", ""),
                e.get("tokens_out", ""),
                e.get("status", ""),
            )
            for col, value in enumerate(values):
                self.audit_table.setItem(row, col, QTableWidgetItem(str(value)))
        check = view.audit_check
        if check.ok:
            self.audit_state.setText(f"✓ {check.entries} entries, chain intact")
        else:
            where = f" at line {check.line}" if check.line else ""
            self.audit_state.setText(f"⚠ Chain broken{where}: {check.problem}")
        self.audit_state.setObjectName("muted" if check.ok else "notice")
        repolish(self.audit_state)

    # ------------------------------------------------------------------ export
    def _choose_export(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Export usage", "hearth-usage.csv", "CSV (*.csv)"
        )
        if path:
            self.export_requested.emit(path, str(self.compare.currentData() or ""))

    def _choose_audit_export(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Export audit log", "hearth-audit.csv", "CSV (*.csv);;JSON lines (*.jsonl)"
        )
        if path:
            self.audit_export_requested.emit(path)
