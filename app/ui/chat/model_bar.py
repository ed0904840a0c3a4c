"""The model picker at the top of Chat: choose, load, eject, and see the engine's state.

The state is a one-line pill ("Loading 42%", "Ready", "Error"); the long text (an error's
full message, the model's facts) lives in its tooltip so the bar never wraps.
"""

from __future__ import annotations

import html
from pathlib import Path

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from app.backend.engine.client import EngineStatus
from app.backend.engine.types import EngineState
from app.backend.library import LocalModel
from app.ui.theme import repolish

NO_MODELS_PLACEHOLDER = "No models yet: run 'make setup' or add a .gguf file"


class ModelBar(QWidget):
    load_requested = Signal(str)
    options_requested = Signal(str)
    cancel_load_requested = Signal()
    eject_requested = Signal()
    refresh_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.picker = QComboBox()
        self.picker.setAccessibleName("Model")
        self.picker.setToolTip("Choose a model to load (Ctrl+L)")
        self.picker.setMinimumContentsLength(24)
        self.picker.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.picker.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.picker.setPlaceholderText("Select a model to load")
        self.load_button = QPushButton("Load")
        self.load_button.setObjectName("primary")
        self.load_button.setAccessibleName("Load model")
        self.options_button = QPushButton("⚙")
        self.options_button.setAccessibleName("Load with options")
        self.options_button.setToolTip("Load with options: memory estimate, GPU layers, context")
        self.eject_button = QPushButton("⏏ Eject")
        self.eject_button.setAccessibleName("Eject model")
        self.eject_button.setToolTip("Unload the model and free its memory")
        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        self.progress.setFixedWidth(90)
        self.progress.setTextVisible(False)
        self.progress.setAccessibleName("Loading progress")
        self.progress.hide()
        self.state_label = QLabel("No model loaded")
        self.state_label.setObjectName("engineState")
        self.state_label.setAccessibleName("Engine state")
        self.state_label.setWordWrap(False)
        self.state_label.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Fixed)
        self.mode_label = QLabel("")
        self.mode_label.setObjectName("promptMode")
        self.mode_label.setAccessibleName("Prompt mode")
        self.mode_label.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Fixed)
        self.mode_label.hide()

        self.empty_title = QLabel("No models yet")
        self.empty_title.setObjectName("emptyTitle")
        self.empty_help = QLabel("")
        self.empty_help.setObjectName("pageSubtitle")
        self.empty_help.setWordWrap(True)
        self.empty_help.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.empty_card = QFrame()
        self.empty_card.setObjectName("card")
        self.empty_card.setAccessibleName("No models yet")
        card_layout = QVBoxLayout(self.empty_card)
        card_layout.setContentsMargins(16, 12, 16, 12)
        card_layout.addWidget(self.empty_title)
        card_layout.addWidget(self.empty_help)
        self.refresh_button = QPushButton("Check again")
        self.refresh_button.setAccessibleName("Look for models again")
        self.refresh_button.clicked.connect(self.refresh_requested)
        card_layout.addWidget(self.refresh_button, 0, Qt.AlignmentFlag.AlignLeft)
        self.empty_card.hide()
        self._models_folder: Path | None = None
        self.set_models_folder(None)

        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(8)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(10)
        outer.addLayout(row)
        outer.addWidget(self.empty_card)
        layout = row
        layout.addWidget(self.picker, 1)
        layout.addWidget(self.load_button)
        layout.addWidget(self.options_button)
        layout.addWidget(self.eject_button)
        layout.addSpacing(4)
        layout.addWidget(self.progress)
        layout.addWidget(self.state_label)
        layout.addWidget(self.mode_label)

        self.load_button.clicked.connect(self._on_load_clicked)
        self.eject_button.clicked.connect(self.eject_requested)
        self.options_button.clicked.connect(self._on_options_clicked)
        self._state = EngineState.EMPTY
        self._loading_name = ""
        self._set_pill("empty", "No model loaded", "Choose a model and press Load.")
        self._apply_state(EngineState.EMPTY)

    @Slot(list)
    def set_models(self, models: list[LocalModel]) -> None:
        current = self.picker.currentData()
        self.picker.clear()
        for model in models:
            if model.error:
                continue
            size = (
                f"{model.size_bytes / 1e9:.1f} GB"
                if model.size_bytes >= 1e9
                else (f"{model.size_bytes / 1e6:.0f} MB")
            )
            self.picker.addItem(model.id, model.id)
            self.picker.setItemData(
                self.picker.count() - 1, f"{size} · {model.path}", Qt.ItemDataRole.ToolTipRole
            )
        if self.picker.count() == 0:
            self.picker.setPlaceholderText(NO_MODELS_PLACEHOLDER)
        self.empty_card.setVisible(self.picker.count() == 0)
        index = self.picker.findData(current) if current else 0
        self.picker.setCurrentIndex(max(index, 0) if self.picker.count() else -1)
        self._apply_state(self._state)

    def set_models_folder(self, folder: Path | None) -> None:
        """Where a newcomer should put a .gguf file; shown in the no-models card."""
        self._models_folder = folder
        where = f"<code>{html.escape(str(folder))}</code>" if folder else "the models folder"
        self.empty_help.setText(
            "Run <code>make setup</code> to install the small starter model, or put a "
            f".gguf file in {where}, then press <b>Check again</b>."
        )

    def selected_model_id(self) -> str | None:
        data = self.picker.currentData()
        return str(data) if data else None

    def has_models(self) -> bool:
        return self.picker.count() > 0

    @Slot(object)
    def set_status(self, status: EngineStatus) -> None:
        self._state = status.state
        name = status.model_path.name if status.model_path else ""
        if status.state is EngineState.LOADING:
            self._loading_name = name
            self.progress.setValue(0)
            self.progress.show()
            self._set_pill("loading", "Loading 0%", f"Loading {name}…")
        elif status.state is EngineState.READY:
            info = status.info
            facts = [name]
            if info is not None:
                facts.append(f"context {info.n_ctx:,} tokens (trained for {info.n_ctx_train:,})")
                facts.append(f"{info.n_gpu_layers} of {info.n_layers} layers on the GPU")
                facts.append(f"loaded in {info.load_time_s:.1f}s")
            self._set_pill("ready", "● Ready", "\n".join(facts))
        elif status.state is EngineState.ERROR:
            self._set_pill("error", "⚠ Error", status.message or "The model failed to load.")
            self._hide_mode()
        else:
            self._set_pill("empty", "No model loaded", "Choose a model and press Load.")
            self._hide_mode()
        if status.state is not EngineState.LOADING:
            self.progress.hide()
        self._apply_state(status.state)

    @Slot(float)
    def set_progress(self, fraction: float) -> None:
        percent = max(0, min(100, int(fraction * 100)))
        self.progress.setValue(percent)
        if self._state is EngineState.LOADING:
            self.state_label.setText(f"Loading {percent}%")

    @Slot(str, str)
    def set_prompt_mode(self, mode: str, reason: str) -> None:
        chat = mode == "chat"
        self.mode_label.setText("Chat mode" if chat else "Completion mode")
        self.mode_label.setToolTip(reason)
        self.mode_label.setProperty("mode", "chat" if chat else "completion")
        repolish(self.mode_label)
        self.mode_label.show()

    def _hide_mode(self) -> None:
        self.mode_label.setText("")
        self.mode_label.hide()

    def _set_pill(self, state: str, text: str, tooltip: str) -> None:
        self.state_label.setText(text)
        self.state_label.setToolTip(tooltip)
        self.state_label.setAccessibleDescription(tooltip)
        self.state_label.setProperty("state", state)
        repolish(self.state_label)

    def _on_options_clicked(self) -> None:
        model_id = self.selected_model_id()
        if model_id:
            self.options_requested.emit(model_id)

    def _on_load_clicked(self) -> None:
        if self._state is EngineState.LOADING:
            self.cancel_load_requested.emit()
            return
        model_id = self.selected_model_id()
        if model_id:
            self.load_requested.emit(model_id)

    def _apply_state(self, state: EngineState) -> None:
        loading = state is EngineState.LOADING
        self.load_button.setText("Cancel" if loading else "Load")
        # The call to action is Load only while nothing is loaded.
        wanted = state in (EngineState.EMPTY, EngineState.ERROR)
        self.load_button.setObjectName("primary" if wanted else "")
        repolish(self.load_button)
        self.load_button.setEnabled(loading or self.picker.count() > 0)
        self.eject_button.setEnabled(state is EngineState.READY)
        self.options_button.setEnabled(not loading and self.picker.count() > 0)
        self.picker.setEnabled(not loading)
