"""The cloud price editor: view, edit, add and remove rows of the price table.

Rows are checked here (``table_from_rows``: pure, instant) before anything is sent, so a bad
value gets one sentence naming the row and the field, and every typed value stays in the
table. Saving and resetting run on the usage bridge's thread; the dialog closes only when the
bridge says the file was written. "Reset to defaults" fills in the shipped table; saving it
unchanged removes the user's copy, so later shipped prices apply again.
"""

from __future__ import annotations

from datetime import date

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.backend.costs import PriceTable, PriceTableError, default_table
from app.backend.costs.editing import COLUMNS, PriceRow, RowError, rows_of, table_from_rows

PRICE_COLUMNS = (2, 3)
DATE_COLUMN = 4


class PriceEditor(QDialog):
    save_requested = Signal(object)  # PriceTable
    reset_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Cloud prices")
        self.resize(820, 560)
        self.base: PriceTable = default_table()
        self.saving = False
        self._filling = False

        self.intro = QLabel("")
        self.intro.setObjectName("help")
        self.intro.setWordWrap(True)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setAccessibleName("Cloud price table")
        self.table.verticalHeader().hide()
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.table.itemChanged.connect(self._on_item_changed)
        self.error = QLabel("")
        self.error.setObjectName("notice")
        self.error.setWordWrap(True)
        self.error.setAccessibleName("Price table problem")
        self.error.hide()

        self.add_button = QPushButton("Add model")
        self.add_button.clicked.connect(self.add_row)
        self.remove_button = QPushButton("Remove selected")
        self.remove_button.clicked.connect(self.remove_selected)
        self.reset_button = QPushButton("Reset to defaults")
        self.reset_button.setToolTip("Fill in the prices Hearth ships with (Save to apply)")
        self.reset_button.clicked.connect(self.fill_defaults)
        self.save_button = QPushButton("Save")
        self.save_button.setDefault(True)
        self.save_button.clicked.connect(self.save)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.reject)
        buttons = QHBoxLayout()
        for button in (self.add_button, self.remove_button, self.reset_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.save_button)

        layout = QVBoxLayout(self)
        layout.addWidget(self.intro)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.error)
        layout.addLayout(buttons)

    # ------------------------------------------------------------------ filling
    def show_table(self, table: PriceTable, warning: str | None = None) -> None:
        """Show ``table`` (the user's copy or the defaults) for editing."""
        self.base = table
        self.saving = False
        self.save_button.setEnabled(True)
        edited = " You are editing your own copy." if table.user_edited else ""
        self.intro.setText(
            "US dollars per million tokens, input and output priced separately. "
            f"The shipped prices are list prices as of {default_table().as_of}; prices change "
            f"often, so check them at the source given for each row.{edited}"
        )
        self._fill(rows_of(table))
        self.show_error(warning or "")

    def _fill(self, rows: list[PriceRow]) -> None:
        self._filling = True
        try:
            self.table.setRowCount(len(rows))
            for r, row in enumerate(rows):
                values = (row.id, row.provider, row.input, row.output, row.as_of, row.source)
                for c, value in enumerate(values):
                    self.table.setItem(r, c, QTableWidgetItem(value))
        finally:
            self._filling = False

    @Slot()
    def fill_defaults(self) -> None:
        self._fill(rows_of(default_table()))
        self.show_error("")
        self.error.setText("The shipped defaults are filled in; Save to use them.")
        self.error.show()

    @Slot()
    def add_row(self) -> None:
        row = self.table.rowCount()
        self._filling = True
        try:
            self.table.insertRow(row)
            for c, value in enumerate(("", "", "", "", date.today().isoformat(), "")):
                self.table.setItem(row, c, QTableWidgetItem(value))
        finally:
            self._filling = False
        self.table.setCurrentCell(row, 0)
        first = self.table.item(row, 0)
        if first is not None and self.table.isVisible():
            self.table.editItem(first)

    @Slot()
    def remove_selected(self) -> None:
        rows = sorted({i.row() for i in self.table.selectedIndexes()}, reverse=True)
        for row in rows:
            self.table.removeRow(row)

    def _on_item_changed(self, item: QTableWidgetItem) -> None:
        """A price typed by hand is dated today (the shipped date no longer describes it)."""
        if self._filling or item.column() not in PRICE_COLUMNS:
            return
        stamp = self.table.item(item.row(), DATE_COLUMN)
        if stamp is None:
            self.table.setItem(item.row(), DATE_COLUMN, QTableWidgetItem(date.today().isoformat()))
        else:
            stamp.setText(date.today().isoformat())

    # ------------------------------------------------------------------ saving
    def rows(self) -> list[PriceRow]:
        def text(r: int, c: int) -> str:
            item = self.table.item(r, c)
            return item.text() if item is not None else ""

        return [
            PriceRow(*(text(r, c) for c in range(len(COLUMNS))))
            for r in range(self.table.rowCount())
        ]

    @Slot()
    def save(self) -> None:
        rows = self.rows()
        if rows == rows_of(default_table()):
            self._sending()
            self.reset_requested.emit()
            return
        try:
            table = table_from_rows(rows, self.base)
        except PriceTableError as exc:
            self.show_error(str(exc))
            if isinstance(exc, RowError):  # put the cursor on the cell to fix
                self.table.setCurrentCell(exc.row, exc.column)
            return
        self._sending()
        self.save_requested.emit(table)

    def _sending(self) -> None:
        self.saving = True
        self.save_button.setEnabled(False)
        self.show_error("")

    def show_error(self, text: str) -> None:
        self.error.setText(text)
        self.error.setVisible(bool(text))

    @Slot(str)
    def saved(self, _message: str) -> None:
        if self.saving:
            self.saving = False
            self.save_button.setEnabled(True)
            self.accept()

    @Slot(str)
    def save_failed(self, message: str) -> None:
        """The bridge could not write the file: say so and keep everything typed."""
        if self.saving:
            self.saving = False
            self.save_button.setEnabled(True)
            self.show_error(message)
