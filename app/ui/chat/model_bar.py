"""The model picker at the top of Chat: choose, load, eject, and see the engine's state.

The state is a one-line pill ("Loading 42%", "Ready", "Error"); the long text (an error's
full message, the model's facts) lives in its tooltip so the bar never wraps.

Remote models (from the endpoints on the Remote engines page) follow the local ones under a
"Remote · <endpoint>" heading per endpoint; they need no load, so choosing one makes the chat
use it at once. Local only hides them. Opening the list asks the bridge for a fresh listing
(on its own thread); what was known last is shown meanwhile.
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
from app.backend.remote import RemoteModel, is_remote_id, parse_remote_id
from app.ui.chat_bridge.remote_chat import RemoteChoices
from app.ui.theme import repolish

NO_MODELS_PLACEHOLDER = "No models yet: run 'make setup' or add a .gguf file"
REMOTE_HEADING = "Remote · {endpoint}"


class _Picker(QComboBox):
    """A combo box that says when its list is about to open (to refresh remote models)."""

    opening = Signal()

    def showPopup(self) -> None:
        self.opening.emit()
        super().showPopup()


class ModelBar(QWidget):
    load_requested = Signal(str)
    remote_chosen = Signal(str)  # a remote model id: use it (no load)
    model_picked = Signal(str)  # the local model now shown in the picker
    remotes_refresh_requested = Signal()
    remotes_requested = Signal(str)  # open Remote engines, to set this local model's fallback
    options_requested = Signal(str)
    cancel_load_requested = Signal()
    eject_requested = Signal()
    refresh_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.picker = _Picker()
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
        self.remotes_button = QPushButton("☁")
        self.remotes_button.setAccessibleName("Remote engines and fallback")
        self.remotes_button.setToolTip(
            "Remote engines, and a remote model that answers for the selected local model "
            "when it is not loaded, busy or failing"
        )
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
        outer.setSpacing(6)
        outer.addLayout(row)
        outer.addWidget(self.empty_card)
        row.addWidget(self.picker, 1)
        row.addWidget(self.load_button)
        row.addWidget(self.options_button)
        row.addWidget(self.eject_button)
        row.addWidget(self.remotes_button)
        # The state pills get their own line: beside the buttons they squeezed the
        # picker down to "google/" in a 1280-px window, hiding which model is chosen.
        status_row = QHBoxLayout()
        status_row.setContentsMargins(0, 0, 0, 0)
        status_row.setSpacing(8)
        status_row.addWidget(self.state_label)
        status_row.addWidget(self.progress)
        status_row.addWidget(self.mode_label)
        status_row.addStretch(1)
        outer.insertLayout(1, status_row)

        self._local: list[LocalModel] = []
        self._remote = RemoteChoices()
        self._remote_active: str | None = None  # the remote model the chat uses
        self._selectable = 0
        self.picker.opening.connect(self.remotes_refresh_requested)
        self.picker.activated.connect(self._on_activated)
        self.picker.currentIndexChanged.connect(self._on_current_changed)
        self.load_button.clicked.connect(self._on_load_clicked)
        self.eject_button.clicked.connect(self.eject_requested)
        self.options_button.clicked.connect(self._on_options_clicked)
        self.remotes_button.clicked.connect(self._on_remotes_clicked)
        self._state = EngineState.EMPTY
        self._loading_name = ""
        self._set_pill("empty", "No model loaded", "Choose a model and press Load.")
        self._apply_state(EngineState.EMPTY)

    def connect_bridge(self, bridge: object) -> None:
        """Remote models and the picker's choice, wired to the bridge (queued both ways)."""
        b = bridge
        self.remotes_refresh_requested.connect(b.list_remote_models)  # type: ignore[attr-defined]
        self.remote_chosen.connect(b.use_remote)  # type: ignore[attr-defined]
        self.model_picked.connect(b.pick_model)  # type: ignore[attr-defined]
        b.remote_models_listed.connect(self.set_remote_models)  # type: ignore[attr-defined]
        b.chat_target_changed.connect(self.set_remote_active)  # type: ignore[attr-defined]

    @Slot(list)
    def set_models(self, models: list[LocalModel]) -> None:
        self._local = [m for m in models if not m.error]
        self._rebuild()

    @Slot(object)
    def set_remote_models(self, choices: RemoteChoices) -> None:
        self._remote = choices
        self._rebuild()

    @Slot(str)
    def set_remote_active(self, model_id: str) -> None:
        """The chat now answers with this remote model ("" for none)."""
        self._remote_active = model_id or None
        if model_id:
            index = self.picker.findData(model_id)
            if index >= 0:
                self.picker.setCurrentIndex(index)

    def remote_ids(self) -> list[str]:
        """The remote models the picker offers (for tests and accessibility)."""
        ids = (self.picker.itemData(i) for i in range(self.picker.count()))
        return [str(d) for d in ids if d and is_remote_id(str(d))]

    def _rebuild(self) -> None:
        current = self.picker.currentData()
        self.picker.blockSignals(True)
        self.picker.clear()
        for model in self._local:
            size = (
                f"{model.size_bytes / 1e9:.1f} GB"
                if model.size_bytes >= 1e9
                else (f"{model.size_bytes / 1e6:.0f} MB")
            )
            self.picker.addItem(model.id, model.id)
            self.picker.setItemData(
                self.picker.count() - 1, f"{size} · {model.path}", Qt.ItemDataRole.ToolTipRole
            )
        self._selectable = len(self._local)
        if not self._remote.local_only:
            self._add_remote_sections()
        self.picker.blockSignals(False)
        if self._selectable == 0:
            self.picker.setPlaceholderText(NO_MODELS_PLACEHOLDER)
        self.empty_card.setVisible(self._selectable == 0)
        index = self.picker.findData(current) if current else -1
        if index < 0:
            index = 0 if self._local else -1
        self.picker.setCurrentIndex(index)
        self._on_current_changed(index)
        self._apply_state(self._state)

    def _add_remote_sections(self) -> None:
        by_endpoint: dict[str, list[RemoteModel]] = {}
        for remote in self._remote.models:
            by_endpoint.setdefault(remote.endpoint, []).append(remote)
        for name in self._remote.errors:
            by_endpoint.setdefault(name, [])
        for endpoint, models in by_endpoint.items():
            if self.picker.count():
                self.picker.insertSeparator(self.picker.count())
            error = self._remote.errors.get(endpoint)
            heading = REMOTE_HEADING.format(endpoint=endpoint) if endpoint != "*" else "Remote"
            self._add_heading(heading + (" — no answer" if error else ""), error or "")
            for model in models:
                self.picker.addItem(f"{model.model}  ·  Remote · {endpoint}", model.id)
                self.picker.setItemData(
                    self.picker.count() - 1,
                    f"Runs on the remote endpoint '{endpoint}': no load needed; "
                    "your messages are sent there.",
                    Qt.ItemDataRole.ToolTipRole,
                )
                self._selectable += 1

    def _add_heading(self, text: str, tooltip: str) -> None:
        """A disabled row that names a section of the list."""
        self.picker.addItem(text)
        index = self.picker.count() - 1
        item = self.picker.model().item(index)  # type: ignore[attr-defined]
        item.setFlags(Qt.ItemFlag.NoItemFlags)
        if tooltip:
            self.picker.setItemData(index, tooltip, Qt.ItemDataRole.ToolTipRole)

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

    def selected_is_remote(self) -> bool:
        model_id = self.selected_model_id()
        return bool(model_id and is_remote_id(model_id))

    def has_models(self) -> bool:
        return self._selectable > 0

    @Slot(object)
    def set_status(self, status: EngineStatus) -> None:
        self._state = status.state
        name = status.model_path.name if status.model_path else ""
        if status.state is EngineState.LOADING:
            self._loading_name = name
            self.progress.setValue(0)
            self.progress.show()
            self._set_pill("loading", "Loading 0%", f"Loading {name}…")
        elif status.state is EngineState.READY and self._remote_active:
            endpoint, model = parse_remote_id(self._remote_active) or ("", self._remote_active)
            self._set_pill(
                "ready",
                "● Remote",
                f"Replies come from {model} on the remote endpoint '{endpoint}'. "
                "Nothing is loaded on this computer.",
            )
            self._hide_mode()
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
        if model_id and not is_remote_id(model_id):
            self.options_requested.emit(model_id)

    def _on_remotes_clicked(self) -> None:
        model_id = self.selected_model_id()
        self.remotes_requested.emit(model_id if model_id and not is_remote_id(model_id) else "")

    def _on_load_clicked(self) -> None:
        if self._state is EngineState.LOADING:
            self.cancel_load_requested.emit()
            return
        model_id = self.selected_model_id()
        if model_id and is_remote_id(model_id):
            self.remote_chosen.emit(model_id)
        elif model_id:
            self.load_requested.emit(model_id)

    def _on_activated(self, index: int) -> None:
        """The user chose a row: a remote model is used at once (it needs no load)."""
        model_id = self.picker.itemData(index)
        if model_id and is_remote_id(str(model_id)) and model_id != self._remote_active:
            self.remote_chosen.emit(str(model_id))

    def _on_current_changed(self, index: int) -> None:
        model_id = self.picker.itemData(index) if index >= 0 else None
        if model_id and not is_remote_id(str(model_id)):
            self.model_picked.emit(str(model_id))
        self._apply_state(self._state)

    def _apply_state(self, state: EngineState) -> None:
        loading = state is EngineState.LOADING
        remote = self.selected_is_remote()
        self.load_button.setText("Cancel" if loading else ("Use" if remote else "Load"))
        self.load_button.setToolTip(
            "Chat with this remote model (nothing to load)" if remote and not loading else ""
        )
        # The call to action is Load only while nothing is loaded.
        wanted = state in (EngineState.EMPTY, EngineState.ERROR)
        self.load_button.setObjectName("primary" if wanted else "")
        repolish(self.load_button)
        self.load_button.setEnabled(loading or self._selectable > 0)
        self.eject_button.setEnabled(state is EngineState.READY)
        self.eject_button.setToolTip(
            "Stop using the remote model"
            if self._remote_active
            else "Unload the model and free its memory"
        )
        self.options_button.setEnabled(not loading and self._selectable > 0 and not remote)
        self.picker.setEnabled(not loading)
