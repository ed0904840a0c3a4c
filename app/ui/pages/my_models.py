"""My Models: everything in the models folders, with details, sort and filter.

Import (copy / move / link), delete with confirmation, open the folder, full metadata, and
models found in other tools (LM Studio, the Hugging Face cache, Ollama) offered for use in
place. Widgets only; all disk work happens behind ``ModelsBridge``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSortFilterProxyModel, Qt, Signal, Slot
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.backend.library import LocalModel
from app.backend.library.discovery import FoundSource
from app.backend.units import human_size
from app.ui.pages.discover import TABLE_STYLE

SORT_ROLE = Qt.ItemDataRole.UserRole + 1
COLUMNS = ("Model", "Architecture", "Params", "Quant", "Size", "Context", "Chat template")


def human_params(n: int) -> str:
    if n >= 1_000_000_000:
        return f"{n / 1e9:.1f}B"
    if n >= 1_000_000:
        return f"{n / 1e6:.0f}M"
    if n >= 1000:
        return f"{n / 1e3:.0f}K"
    return str(n) if n else "–"


def _cell(text: str, sort_key: Any, tooltip: str = "") -> QStandardItem:
    item = QStandardItem(text)
    item.setEditable(False)
    item.setData(sort_key, SORT_ROLE)
    if tooltip:
        item.setToolTip(tooltip)
    return item


class MetadataDialog(QDialog):
    def __init__(self, model_id: str, meta: dict[str, Any], parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle(f"Metadata — {model_id}")
        self.resize(640, 520)
        lay = QVBoxLayout(self)
        self.text = QPlainTextEdit(json.dumps(meta, indent=2, ensure_ascii=False, default=str))
        self.text.setReadOnly(True)
        lay.addWidget(self.text)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)


class MyModelsPage(QWidget):
    # --- requests to the bridge
    list_models = Signal()
    show_metadata = Signal(str)
    import_file = Signal(str, str)
    delete_model = Signal(str)
    open_folder = Signal(str)
    find_other_tools = Signal()
    use_in_place = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("My Models")
        self._models: dict[str, LocalModel] = {}
        # Replaceable in tests: modal dialogs.
        self.confirm_delete = self._confirm_delete
        self.pick_file = self._pick_file
        outer = QVBoxLayout(self)
        outer.setContentsMargins(24, 18, 24, 16)
        outer.setSpacing(10)
        title = QLabel("My Models")
        title.setObjectName("pageTitle")
        self.summary = QLabel("Looking for models…")
        self.summary.setObjectName("pageSubtitle")
        outer.addWidget(title)
        outer.addWidget(self.summary)

        bar = QHBoxLayout()
        self.filter = QLineEdit()
        self.filter.setPlaceholderText("Filter by name, architecture or quantization")
        self.filter.setClearButtonEnabled(True)
        self.import_mode = QComboBox()
        self.import_mode.addItem("Copy into library", "copy")
        self.import_mode.addItem("Move into library", "move")
        self.import_mode.addItem("Link (use in place)", "link")
        self.import_button = QPushButton("Import…")
        self.import_button.setObjectName("primary")
        self.import_button.clicked.connect(self._import)
        self.refresh = QPushButton("Refresh")
        self.refresh.clicked.connect(self.list_models.emit)
        bar.addWidget(self.filter, 1)
        bar.addWidget(self.import_mode)
        bar.addWidget(self.import_button)
        bar.addWidget(self.refresh)
        outer.addLayout(bar)

        self.notice = QLabel()
        self.notice.setObjectName("notice")
        self.notice.setWordWrap(True)
        self.notice.hide()
        outer.addWidget(self.notice)

        self.model = QStandardItemModel(0, len(COLUMNS), self)
        self.model.setHorizontalHeaderLabels(COLUMNS)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setSortRole(SORT_ROLE)
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.proxy.setFilterKeyColumn(-1)
        self.filter.textChanged.connect(self.proxy.setFilterFixedString)
        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setAlternatingRowColors(True)
        self.table.setShowGrid(False)
        self.table.verticalHeader().hide()
        self.table.setAccessibleName("Installed models")
        self.table.setStyleSheet(TABLE_STYLE)
        self.table.horizontalHeader().setDefaultAlignment(
            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
        )
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for col in range(1, len(COLUMNS)):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        self.table.doubleClicked.connect(lambda _i: self._metadata())
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._sync_buttons())
        outer.addWidget(self.table, 1)

        actions = QHBoxLayout()
        self.path_label = QLabel("")
        self.path_label.setObjectName("muted")
        self.path_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.meta_button = QPushButton("Show metadata")
        self.meta_button.clicked.connect(self._metadata)
        self.folder_button = QPushButton("Open folder")
        self.folder_button.clicked.connect(self._open_folder)
        self.delete_button = QPushButton("Delete…")
        self.delete_button.setObjectName("danger")
        self.delete_button.clicked.connect(self._delete)
        actions.addWidget(self.path_label, 1)
        for b in (self.meta_button, self.folder_button, self.delete_button):
            actions.addWidget(b)
        outer.addLayout(actions)

        self.found_card = QFrame()
        self.found_card.setObjectName("card")
        self.found_layout = QVBoxLayout(self.found_card)
        self.found_layout.setContentsMargins(14, 10, 14, 10)
        found_title = QLabel("Models from other apps on this computer")
        found_title.setObjectName("sectionTitle")
        self.found_layout.addWidget(found_title)
        self.found_card.hide()
        outer.addWidget(self.found_card)
        self._sync_buttons()

    # ------------------------------------------------------------------ wiring
    def connect_bridge(self, b: object) -> None:
        self.list_models.connect(b.list_models)  # type: ignore[attr-defined]
        self.show_metadata.connect(b.show_metadata)  # type: ignore[attr-defined]
        self.import_file.connect(b.import_file)  # type: ignore[attr-defined]
        self.delete_model.connect(b.delete)  # type: ignore[attr-defined]
        self.open_folder.connect(b.open_folder)  # type: ignore[attr-defined]
        self.find_other_tools.connect(b.find_other_tools)  # type: ignore[attr-defined]
        self.use_in_place.connect(b.use_in_place)  # type: ignore[attr-defined]
        b.models_listed.connect(self.show_models)  # type: ignore[attr-defined]
        b.metadata_ready.connect(self._show_metadata)  # type: ignore[attr-defined]
        b.other_tools_found.connect(self.show_other_tools)  # type: ignore[attr-defined]
        b.error.connect(self.show_notice)  # type: ignore[attr-defined]
        self.list_models.emit()
        self.find_other_tools.emit()

    # ------------------------------------------------------------------ listing
    @Slot(list)
    def show_models(self, models: list[LocalModel]) -> None:
        selected = self.selected_id()
        self._models = {m.id: m for m in models}
        self.model.setRowCount(0)
        for m in models:
            broken = m.error is not None
            row = [
                _cell(m.id, m.id.lower(), str(m.path)),
                _cell(m.architecture or "–", m.architecture),
                _cell(human_params(m.n_params), m.n_params),
                _cell(m.quantization or "–", m.quantization),
                _cell(human_size(m.size_bytes), m.size_bytes),
                _cell(f"{m.n_ctx_train:,}" if m.n_ctx_train else "–", m.n_ctx_train),
                _cell("yes" if m.has_chat_template else "no (completion)", m.has_chat_template),
            ]
            if broken:
                row[1] = _cell("unreadable", "", m.error or "")
            if m.projector is not None:  # downloaded with it: the model can see images
                row[0] = _cell(
                    f"{m.id}  · vision", m.id.lower(), f"{m.path}\nVision projector: {m.projector}"
                )
            row[0].setData(m.id, Qt.ItemDataRole.UserRole)
            self.model.appendRow(row)
        total = sum(m.size_bytes for m in models)
        self.summary.setText(
            f"You have {len(models)} local model{'s' if len(models) != 1 else ''}, "
            f"taking up {human_size(total)}."
            if models
            else "No models yet. Download one from Discover, or import a .gguf file."
        )
        if selected in self._models:
            self.select(selected)
        self._sync_buttons()

    def selected_id(self) -> str | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        value = self.proxy.data(rows[0], Qt.ItemDataRole.UserRole)
        return str(value) if value is not None else None

    def select(self, model_id: str) -> None:
        for row in range(self.proxy.rowCount()):
            index = self.proxy.index(row, 0)
            if self.proxy.data(index, Qt.ItemDataRole.UserRole) == model_id:
                self.table.selectRow(row)
                return

    def _sync_buttons(self) -> None:
        model = self._models.get(self.selected_id() or "")
        for b in (self.meta_button, self.folder_button, self.delete_button):
            b.setEnabled(model is not None)
        self.path_label.setText(str(model.path) if model else "")

    # ------------------------------------------------------------------ actions
    def _metadata(self) -> None:
        model_id = self.selected_id()
        if model_id:
            self.show_metadata.emit(model_id)

    @Slot(str, dict)
    def _show_metadata(self, model_id: str, meta: dict[str, Any]) -> None:
        dialog = MetadataDialog(model_id, meta, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        self.metadata_dialog = dialog

    def _open_folder(self) -> None:
        model_id = self.selected_id()
        if model_id:
            self.open_folder.emit(model_id)

    def _delete(self) -> None:
        model_id = self.selected_id()
        model = self._models.get(model_id or "")
        if model is None or not self.confirm_delete(model):
            return
        self.delete_model.emit(model.id)

    def _confirm_delete(self, model: LocalModel) -> bool:
        what = (
            "This removes only the link; the file it points to is kept."
            if model.path.is_symlink()
            else f"This deletes {human_size(model.size_bytes)} from the disk."
        )
        answer = QMessageBox.question(
            self,
            "Delete model",
            f"Delete {model.id}?\n\n{model.path}\n\n{what}",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel,
        )
        return answer == QMessageBox.StandardButton.Yes

    def _import(self) -> None:
        path = self.pick_file()
        if path:
            self.import_file.emit(path, self.import_mode.currentData())

    def _pick_file(self) -> str:
        path, _ = QFileDialog.getOpenFileName(
            self, "Import a GGUF model", str(Path.home()), "GGUF models (*.gguf)"
        )
        return path

    # ------------------------------------------------------------------ other tools
    @Slot(list)
    def show_other_tools(self, sources: list[FoundSource]) -> None:
        while self.found_layout.count() > 1:
            item = self.found_layout.takeAt(1)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()
        for source in sources:
            row = QWidget()
            lay = QHBoxLayout(row)
            lay.setContentsMargins(0, 0, 0, 0)
            how = "add its folder" if source.kind == "folder" else "link the files"
            label = QLabel(
                f"<b>{source.tool}</b> — {len(source.models)} model(s), "
                f"{human_size(source.total_bytes)} in {source.folder} "
                f"<span style='color:gray'>(no copy: Hearth will {how})</span>"
            )
            label.setWordWrap(True)
            button = QPushButton("Use in place")
            button.setAccessibleName(f"Use {source.tool} models in place")
            button.clicked.connect(lambda _=False, f=str(source.folder): self.use_in_place.emit(f))
            lay.addWidget(label, 1)
            lay.addWidget(button)
            self.found_layout.addWidget(row)
        self.found_card.setVisible(bool(sources))

    @Slot(str)
    def show_notice(self, text: str) -> None:
        self.notice.setText(text)
        self.notice.setVisible(bool(text))
