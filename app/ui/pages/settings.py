"""The Settings page, generated from the settings schema (``describe()``).

Each leaf field gets an editor by its type and its description as help text, grouped by
section. Nothing is written until Save; the write runs on a small worker pool so a slow disk
never freezes the window. The theme previews live as soon as it is picked.
"""

from __future__ import annotations

import os
import types
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

from PySide6.QtCore import QObject, QRunnable, QThreadPool, QUrl, Signal, Slot
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.backend.settings import FieldInfo, Settings, SettingsError, SettingsStore, describe

HIDDEN_PREFIXES = ("version", "window.", "per_model", "remotes", "fallback")
SECTION_TITLES = {
    "appearance": "Appearance",
    "chat": "Chat",
    "models": "Model folders",
    "load_defaults": "Default load parameters",
    "sampling_defaults": "Default sampling for new chats",
}
SECTION_ORDER = tuple(SECTION_TITLES)
LABELS = {
    "font_size": "Chat font size",
    "extra_folders": "Extra model folders",
    "send_with_enter": "Send with Enter",
    "show_generation_stats": "Show generation stats",
    "default_system_prompt": "Default system prompt",
    "n_ctx": "Context length",
    "n_gpu_layers": "GPU layers",
    "n_threads": "CPU threads",
    "n_batch": "Batch size",
    "use_mmap": "Memory-map the model file",
    "use_mlock": "Lock the model in RAM",
    "flash_attn": "Flash attention",
    "type_k": "K cache type",
    "type_v": "V cache type",
    "swa_full": "Full sliding-window cache",
    "top_p": "Top P",
    "top_k": "Top K",
    "min_p": "Min P",
    "repeat_last_n": "Repeat window",
    "max_tokens": "Max response tokens",
    "stop": "Stop strings",
    "electricity_price_per_kwh": "Electricity price per kWh",
    "usd_rate": "Value of 1 USD",
    "cpu_package_power_w": "CPU package power (W)",
    "gpu_idle_baseline_w": "GPU idle baseline (W)",
    "amortisation_months": "Amortisation (months)",
    "compare_with": "Compare with cloud model",
    "local_only": "Local only",
}
# Choices for plain ``str`` fields whose valid values the schema does not spell out.
CHOICES: dict[str, tuple[str, ...]] = {
    "load_defaults.type_k": ("f16", "bf16", "f32", "q8_0", "q5_1", "q5_0", "q4_1", "q4_0"),
    "load_defaults.type_v": ("f16", "bf16", "f32", "q8_0", "q5_1", "q5_0", "q4_1", "q4_0"),
}
# Ranges for numbers the schema leaves open, so a spin box cannot produce nonsense.
RANGES: dict[str, tuple[float, float]] = {
    "load_defaults.n_ctx": (128, 1_048_576),
    "load_defaults.n_gpu_layers": (0, 999),
    "load_defaults.n_threads": (1, 512),
    "load_defaults.n_batch": (1, 65_536),
    "sampling_defaults.temperature": (0.0, 5.0),
    "sampling_defaults.top_p": (0.0, 1.0),
    "sampling_defaults.top_k": (0, 1000),
    "sampling_defaults.min_p": (0.0, 1.0),
    "sampling_defaults.repeat_penalty": (0.0, 5.0),
    "sampling_defaults.repeat_last_n": (0, 65_536),
    "sampling_defaults.frequency_penalty": (-2.0, 2.0),
    "sampling_defaults.presence_penalty": (-2.0, 2.0),
    "sampling_defaults.max_tokens": (1, 1_048_576),
    "sampling_defaults.seed": (0, 2**31 - 1),
}
NONE_TEXT = {"load_defaults.n_threads": "Automatic", "sampling_defaults.seed": "Random"}
FOLDER_NOTE = " Folder changes take effect the next time Hearth starts."


# ---------------------------------------------------------------- settings paths
def get_path(settings: Settings, path: str) -> Any:
    obj: Any = settings
    for part in path.split("."):
        obj = getattr(obj, part)
    return obj


def set_path(settings: Settings, path: str, value: Any) -> None:
    *parents, leaf = path.split(".")
    obj: Any = settings
    for part in parents:
        obj = getattr(obj, part)
    setattr(obj, leaf, value)


def editable_fields() -> list[FieldInfo]:
    """The fields a user edits here (not the version, the window, nor per-model overrides)."""
    return [f for f in describe() if not f.path.startswith(HIDDEN_PREFIXES)]


def _optional_of(tp: Any) -> Any | None:
    """``X`` for ``X | None``, else None."""
    if get_origin(tp) in (Union, types.UnionType):
        args = [a for a in get_args(tp) if a is not type(None)]
        if len(args) == 1 and type(None) in get_args(tp):
            return args[0]
    return None


# ---------------------------------------------------------------------- editors
@dataclass
class Editor:
    """One field's widget and how to read and write its value."""

    info: FieldInfo
    widget: QWidget
    get: Callable[[], Any]
    set: Callable[[Any], None]


class FolderList(QWidget):
    """A list of folders with Add folder… / Remove; missing folders are flagged."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.list = QListWidget()
        self.list.setAccessibleName("Extra model folders")
        self.list.setMaximumHeight(110)
        self.add_button = QPushButton("Add folder…")
        self.add_button.setAccessibleName("Add model folder")
        self.remove_button = QPushButton("Remove")
        self.remove_button.setAccessibleName("Remove model folder")
        buttons = QHBoxLayout()
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.remove_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.list)
        layout.addLayout(buttons)
        self.add_button.clicked.connect(self._choose)
        self.remove_button.clicked.connect(self.remove_selected)
        self.list.currentRowChanged.connect(self._update_buttons)
        self._update_buttons()

    def folders(self) -> list[str]:
        return [self.list.item(i).text() for i in range(self.list.count())]

    def set_folders(self, folders: list[str]) -> None:
        self.list.clear()
        for folder in folders:
            self._append(folder)
        self._update_buttons()

    def add_folder(self, folder: str) -> None:
        if folder and folder not in self.folders():
            self._append(folder)
            self.changed.emit()
        self._update_buttons()

    def remove_selected(self) -> None:
        row = self.list.currentRow()
        if row >= 0:
            self.list.takeItem(row)
            self.changed.emit()
        self._update_buttons()

    def _append(self, folder: str) -> None:
        self.list.addItem(folder)
        item = self.list.item(self.list.count() - 1)
        if not Path(folder).expanduser().is_dir():
            item.setText(folder)
            item.setToolTip("This folder does not exist (or cannot be read) right now.")
            item.setForeground(self.palette().placeholderText())

    def _choose(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Add a folder with .gguf models")
        if folder:
            self.add_folder(folder)

    def _update_buttons(self) -> None:
        self.remove_button.setEnabled(self.list.currentRow() >= 0)


def make_editor(info: FieldInfo, on_change: Callable[[], None]) -> Editor:
    """The widget for one field, chosen by its type."""
    tp = info.type
    name = LABELS.get(info.path.rsplit(".", 1)[-1], _humanize(info.path))
    optional = _optional_of(tp)
    if tp is bool:
        box = QCheckBox(name)
        box.toggled.connect(on_change)
        return Editor(info, box, box.isChecked, lambda v: box.setChecked(bool(v)))
    if get_origin(tp) is Literal or info.path in CHOICES:
        choices = [str(a) for a in get_args(tp)] if get_origin(tp) is Literal else []
        choices = choices or list(CHOICES[info.path])
        combo = QComboBox()
        combo.addItems([c.capitalize() if c.isalpha() else c for c in choices])
        for i, choice in enumerate(choices):
            combo.setItemData(i, choice)
        combo.currentIndexChanged.connect(on_change)

        def set_combo(value: Any) -> None:
            index = combo.findData(value)
            combo.setCurrentIndex(index if index >= 0 else 0)

        return Editor(info, combo, combo.currentData, set_combo)
    if tp is int or optional is int:
        return _int_editor(info, optional is int, on_change)
    if tp is float:
        dspin = QDoubleSpinBox()
        low, high = _range(info, 0.0, 1e6)
        dspin.setRange(low, high)
        dspin.setDecimals(2)
        dspin.setSingleStep(0.05 if high <= 5 else 1.0)
        dspin.valueChanged.connect(on_change)
        return Editor(info, dspin, dspin.value, lambda v: dspin.setValue(float(v)))
    if get_origin(tp) is list and "folder" in info.path:
        folders = FolderList()
        folders.changed.connect(on_change)
        return Editor(info, folders, folders.folders, lambda v: folders.set_folders(list(v)))
    if get_origin(tp) is list:
        line = QLineEdit()
        line.setPlaceholderText("comma-separated; \\n stands for a newline")
        line.textChanged.connect(on_change)
        return Editor(info, line, lambda: _split(line.text()), lambda v: line.setText(_join(v)))
    if info.path.endswith("system_prompt"):
        text = QPlainTextEdit()
        text.setMaximumHeight(90)
        text.setPlaceholderText("You are a helpful assistant.")
        text.textChanged.connect(on_change)
        return Editor(info, text, text.toPlainText, lambda v: text.setPlainText(str(v or "")))
    line = QLineEdit()
    line.textChanged.connect(on_change)
    return Editor(info, line, line.text, lambda v: line.setText(str(v or "")))


def _int_editor(info: FieldInfo, optional: bool, on_change: Callable[[], None]) -> Editor:
    spin = QSpinBox()
    low, high = _range(info, 0, 2**31 - 1)
    # An optional number uses one step below its range for "None" (shown as e.g. "Automatic").
    floor = int(low) - 1 if optional else int(low)
    spin.setRange(floor, int(high))
    if optional:
        spin.setSpecialValueText(NONE_TEXT.get(info.path, "Default"))
    spin.valueChanged.connect(on_change)

    def get() -> int | None:
        value = spin.value()
        return None if optional and value == floor else value

    def set_(value: Any) -> None:
        spin.setValue(floor if value is None else int(value))

    return Editor(info, spin, get, set_)


def _range(info: FieldInfo, low: float, high: float) -> tuple[float, float]:
    lo, hi = RANGES.get(info.path, (low, high))
    lo = info.minimum if info.minimum is not None else lo
    hi = info.maximum if info.maximum is not None else hi
    return lo, hi


def _humanize(path: str) -> str:
    return path.rsplit(".", 1)[-1].replace("_", " ").capitalize()


def _split(text: str) -> list[str]:
    return [s.strip().replace("\\n", "\n") for s in text.split(",") if s.strip()]


def _join(values: Any) -> str:
    return ", ".join(str(s).replace("\n", "\\n") for s in values or [])


# ----------------------------------------------------------------------- saving
class _SaveSignals(QObject):
    saved = Signal(object)  # Settings as written
    failed = Signal(str)


class _SaveJob(QRunnable):
    """Applies the edited values to the file's current contents (keeps the window state)."""

    def __init__(self, store: SettingsStore, values: dict[str, Any], signals: _SaveSignals):
        super().__init__()
        self.store, self.values, self.signals = store, values, signals

    def run(self) -> None:
        def apply(settings: Settings) -> None:
            for path, value in self.values.items():
                set_path(settings, path, value)

        try:
            settings = self.store.update(apply)
        except SettingsError as exc:
            self.signals.failed.emit(str(exc))
        except Exception as exc:
            self.signals.failed.emit(f"Could not save settings: {exc}")
        else:
            self.signals.saved.emit(settings)


# ------------------------------------------------------------------------- page
class SettingsPage(QWidget):
    """Edits the app-wide settings; emits ``saved`` with what was written."""

    saved = Signal(object)  # Settings
    theme_preview = Signal(str)  # "system" / "light" / "dark", as soon as it is picked

    def __init__(
        self,
        store: SettingsStore,
        settings: Settings,
        data_root: Path,
        warnings: list[str] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.store = store
        self._settings = settings
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._signals = _SaveSignals(self)
        self._signals.saved.connect(self._on_saved)
        self._signals.failed.connect(self._on_failed)
        self._loading = False
        self.editors: dict[str, Editor] = {}

        title = QLabel("Settings")
        title.setObjectName("pageTitle")
        subtitle = QLabel("App-wide defaults. Per-chat parameters live in the chat's side panel.")
        subtitle.setObjectName("pageSubtitle")
        self.notice = QLabel("")
        self.notice.setObjectName("notice")
        self.notice.setWordWrap(True)
        self.notice.hide()
        if warnings:
            reset = "; ".join(warnings)
            self.show_notice(f"Some settings could not be read and were reset: {reset}")

        content = QWidget()
        column = QVBoxLayout(content)
        column.setContentsMargins(0, 0, 12, 0)
        column.setSpacing(14)
        column.addWidget(self._data_card(data_root))
        for section, fields_ in self._grouped().items():
            column.addWidget(self._section_card(section, fields_))
        column.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(content)
        scroll.setFrameShape(QFrame.Shape.NoFrame)

        self.status = QLabel("")
        self.status.setObjectName("muted")
        self.status.setAccessibleName("Save status")
        self.revert_button = QPushButton("Revert")
        self.revert_button.setAccessibleName("Revert settings")
        self.revert_button.setToolTip("Undo the changes not saved yet")
        self.save_button = QPushButton("Save")
        self.save_button.setObjectName("primary")
        self.save_button.setAccessibleName("Save settings")
        self.save_button.setShortcut("Ctrl+S")
        bar = QHBoxLayout()
        bar.addWidget(self.status, 1)
        bar.addWidget(self.revert_button)
        bar.addWidget(self.save_button)

        column_host = QWidget()
        column_host.setMaximumWidth(920)
        outer = QHBoxLayout(self)
        outer.setContentsMargins(28, 22, 28, 18)
        outer.addWidget(column_host, 1)
        outer.addStretch(0)
        layout = QVBoxLayout(column_host)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(10)
        layout.addWidget(title)
        layout.addWidget(subtitle)
        layout.addWidget(self.notice)
        layout.addWidget(scroll, 1)
        layout.addLayout(bar)

        self.save_button.clicked.connect(self.save)
        self.revert_button.clicked.connect(self.revert)
        theme = self.editors.get("appearance.theme")
        if theme is not None and isinstance(theme.widget, QComboBox):
            theme.widget.currentIndexChanged.connect(self._on_theme_picked)
        self.load(settings)

    # ----------------------------------------------------------------- building
    def _grouped(self) -> dict[str, list[FieldInfo]]:
        groups: dict[str, list[FieldInfo]] = {s: [] for s in SECTION_ORDER}
        for info in editable_fields():
            groups.setdefault(info.path.split(".", 1)[0], []).append(info)
        return {k: v for k, v in groups.items() if v}

    def _section_card(self, section: str, fields_: list[FieldInfo]) -> QFrame:
        card, layout = _card(SECTION_TITLES.get(section, _humanize(section)))
        form = QFormLayout()
        form.setHorizontalSpacing(18)
        form.setVerticalSpacing(12)
        for info in fields_:
            editor = make_editor(info, self._on_changed)
            self.editors[info.path] = editor
            name = LABELS.get(info.path.rsplit(".", 1)[-1], _humanize(info.path))
            editor.widget.setAccessibleName(name)
            description = info.description + (FOLDER_NOTE if "folder" in info.path else "")
            editor.widget.setAccessibleDescription(description)
            editor.widget.setToolTip(description)
            if isinstance(editor.widget, QSpinBox | QDoubleSpinBox | QComboBox):
                editor.widget.setMaximumWidth(260)
            cell = QWidget()
            cell_layout = QVBoxLayout(cell)
            cell_layout.setContentsMargins(0, 0, 0, 0)
            cell_layout.setSpacing(3)
            cell_layout.addWidget(editor.widget)
            help_ = QLabel(description)
            help_.setObjectName("help")
            help_.setWordWrap(True)
            cell_layout.addWidget(help_)
            if isinstance(editor.widget, QCheckBox):
                form.addRow("", cell)
            else:
                form.addRow(name, cell)
        layout.addLayout(form)
        return card

    def _data_card(self, root: Path) -> QFrame:
        card, layout = _card("Data folder")
        self.data_root = QLineEdit(str(root))
        self.data_root.setReadOnly(True)
        self.data_root.setAccessibleName("Data folder")
        open_button = QPushButton("Open")
        open_button.setAccessibleName("Open data folder")
        open_button.clicked.connect(lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(str(root))))
        row = QHBoxLayout()
        row.addWidget(self.data_root, 1)
        row.addWidget(open_button)
        layout.addLayout(row)
        how = "set by HEARTH_HOME" if os.environ.get("HEARTH_HOME") else "the platform default"
        help_ = QLabel(
            f"Models, chats, settings and logs live here ({how}). It is not a setting: "
            "start Hearth with HEARTH_HOME=/another/folder to use a different one."
        )
        help_.setObjectName("help")
        help_.setWordWrap(True)
        layout.addWidget(help_)
        return card

    # -------------------------------------------------------------- load / save
    def load(self, settings: Settings) -> None:
        """Show ``settings`` in the editors (no change is pending afterwards)."""
        self._settings = settings
        self._loading = True
        try:
            for path, editor in self.editors.items():
                editor.set(get_path(settings, path))
        finally:
            self._loading = False
        self._set_dirty(False)

    def values(self) -> dict[str, Any]:
        return {path: editor.get() for path, editor in self.editors.items()}

    def changed_values(self) -> dict[str, Any]:
        return {
            path: value
            for path, value in self.values().items()
            if value != get_path(self._settings, path)
        }

    def is_dirty(self) -> bool:
        return bool(self.changed_values())

    @Slot()
    def save(self) -> None:
        changes = self.changed_values()
        if not changes:
            return
        self.save_button.setEnabled(False)
        self.status.setText("Saving…")
        self._pool.start(_SaveJob(self.store, changes, self._signals))

    @Slot()
    def revert(self) -> None:
        self.load(self._settings)
        self.theme_preview.emit(self._settings.appearance.theme)
        self.status.setText("Changes reverted.")

    def shutdown(self, timeout_ms: int = 5000) -> None:
        """Let a save in progress finish (it is a small file) before the app exits."""
        self._pool.waitForDone(timeout_ms)

    def show_notice(self, text: str) -> None:
        self.notice.setText(text)
        self.notice.setVisible(bool(text))

    # ------------------------------------------------------------------ events
    def _on_changed(self) -> None:
        if not self._loading:
            self._set_dirty(self.is_dirty())

    def _on_theme_picked(self) -> None:
        if not self._loading:
            self.theme_preview.emit(str(self.editors["appearance.theme"].get()))

    def _set_dirty(self, dirty: bool) -> None:
        self.save_button.setEnabled(dirty)
        self.revert_button.setEnabled(dirty)
        self.status.setText("Unsaved changes." if dirty else "")

    @Slot(object)
    def _on_saved(self, settings: Settings) -> None:
        self.load(settings)
        self.notice.hide()
        self.status.setText("Saved.")
        self.saved.emit(settings)

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        self._set_dirty(self.is_dirty())
        self.status.setText("Not saved.")
        self.show_notice(message)


def _card(title: str) -> tuple[QFrame, QVBoxLayout]:
    card = QFrame()
    card.setObjectName("card")
    layout = QVBoxLayout(card)
    layout.setContentsMargins(20, 14, 20, 16)
    layout.setSpacing(10)
    heading = QLabel(title)
    heading.setObjectName("sectionTitle")
    layout.addWidget(heading)
    return card, layout
