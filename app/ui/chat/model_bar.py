"""The model picker at the top of Chat: choose, load, eject, and see the engine's state."""

from __future__ import annotations

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget

from app.backend.engine.client import EngineStatus
from app.backend.engine.types import EngineState
from app.backend.library import LocalModel


class ModelBar(QWidget):
    load_requested = Signal(str)
    cancel_load_requested = Signal()
    eject_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.picker = QComboBox()
        self.picker.setAccessibleName("Model")
        self.picker.setMinimumContentsLength(28)
        self.picker.setPlaceholderText("Select a model to load")
        self.load_button = QPushButton("Load")
        self.load_button.setAccessibleName("Load model")
        self.eject_button = QPushButton("Eject")
        self.eject_button.setAccessibleName("Eject model")
        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        self.progress.setMaximumWidth(140)
        self.progress.setTextVisible(True)
        self.progress.hide()
        self.state_label = QLabel("No model loaded")
        self.state_label.setObjectName("engineState")
        self.state_label.setWordWrap(True)
        self.mode_label = QLabel("")
        self.mode_label.setObjectName("promptMode")

        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.picker, 2)
        layout.addWidget(self.load_button)
        layout.addWidget(self.eject_button)
        layout.addWidget(self.progress)
        layout.addWidget(self.state_label, 3)
        layout.addWidget(self.mode_label)

        self.load_button.clicked.connect(self._on_load_clicked)
        self.eject_button.clicked.connect(self.eject_requested)
        self._state = EngineState.EMPTY
        self._apply_state(EngineState.EMPTY)

    @Slot(list)
    def set_models(self, models: list[LocalModel]) -> None:
        current = self.picker.currentData()
        self.picker.clear()
        for model in models:
            if model.error:
                continue
            self.picker.addItem(f"{model.id}  ·  {model.size_bytes / 1e6:.0f} MB", model.id)
        if self.picker.count() == 0:
            self.picker.setPlaceholderText("No models yet: run 'make setup' or add a .gguf file")
        index = self.picker.findData(current) if current else 0
        self.picker.setCurrentIndex(max(index, 0) if self.picker.count() else -1)
        self._apply_state(self._state)

    def selected_model_id(self) -> str | None:
        data = self.picker.currentData()
        return str(data) if data else None

    @Slot(object)
    def set_status(self, status: EngineStatus) -> None:
        self._state = status.state
        name = status.model_path.name if status.model_path else ""
        if status.state is EngineState.LOADING:
            self.state_label.setText(f"Loading {name}…")
            self.progress.setValue(0)
            self.progress.show()
        elif status.state is EngineState.READY:
            ctx = status.info.n_ctx if status.info else 0
            self.state_label.setText(f"Ready · context {ctx} tokens")
        elif status.state is EngineState.ERROR:
            self.state_label.setText(f"Error: {status.message}")
            self.mode_label.setText("")
        else:
            self.state_label.setText("No model loaded")
            self.mode_label.setText("")
        if status.state is not EngineState.LOADING:
            self.progress.hide()
        self.state_label.setToolTip(self.state_label.text())
        self._apply_state(status.state)

    @Slot(float)
    def set_progress(self, fraction: float) -> None:
        self.progress.setValue(int(fraction * 100))

    @Slot(str, str)
    def set_prompt_mode(self, mode: str, reason: str) -> None:
        self.mode_label.setText("Chat mode" if mode == "chat" else "Completion mode (raw text)")
        self.mode_label.setToolTip(reason)

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
        self.load_button.setEnabled(loading or self.picker.count() > 0)
        self.eject_button.setEnabled(state is EngineState.READY)
        self.picker.setEnabled(not loading)
