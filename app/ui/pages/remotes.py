"""The remote engines dialog: OpenAI-compatible endpoints and per-model fallback.

Endpoints (name, base URL, on/off) are saved in settings; keys go to the keyring through the
usage bridge (asking before a private-file fallback). Test asks the endpoint for its models
without saving. A fallback rule sends a local model's requests to a remote model when the
local one is not loaded, fails before its first token, is busy, or is slow to start.
"""

from __future__ import annotations

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.backend.remote import sends_key_in_clear
from app.backend.settings.schema import FallbackRule
from app.ui.usage_bridge import RemotesView, UsageBridge


class RemotesDialog(QDialog):
    list_requested = Signal(bool)  # ask the endpoints for their models
    save_requested = Signal(str, str, object, bool, bool, object)
    remove_requested = Signal(str)
    test_requested = Signal(str, str, object)
    fallback_requested = Signal(str, object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Remote engines")
        self.resize(720, 620)
        self.view: RemotesView | None = None
        self._editing: str | None = None
        self._fallback_for: str | None = None  # a local model to show once the view arrives

        self.banner = QLabel("")
        self.banner.setObjectName("notice")
        self.banner.setWordWrap(True)
        self.banner.hide()
        intro = QLabel(
            "OpenAI-compatible servers (vLLM, llama-server, Ollama, a cloud API) whose models "
            "appear beside your local ones. Keys are kept in the system keyring."
        )
        intro.setObjectName("help")
        intro.setWordWrap(True)

        self.endpoints = QListWidget()
        self.endpoints.setAccessibleName("Remote endpoints")
        self.endpoints.setMaximumHeight(120)
        self.endpoints.currentItemChanged.connect(self._on_pick)
        self.name = QLineEdit()
        self.name.setAccessibleName("Endpoint name")
        self.name.setPlaceholderText("gpu-box")
        self.url = QLineEdit()
        self.url.setAccessibleName("Base URL")
        self.url.setPlaceholderText("http://gpu-box:8000/v1")
        self.url.textChanged.connect(self._warn_clear_text)
        self.key = QLineEdit()
        self.key.setAccessibleName("API key")
        self.key.setEchoMode(QLineEdit.EchoMode.Password)
        self.key.setPlaceholderText("optional")
        self.enabled = QCheckBox("Offer this endpoint's models")
        self.enabled.setChecked(True)
        self.url_note = QLabel("")
        self.url_note.setObjectName("help")
        self.url_note.setWordWrap(True)
        form = QFormLayout()
        form.addRow("Name", self.name)
        form.addRow("Base URL", self.url)
        form.addRow("API key", self.key)
        form.addRow("", self.enabled)
        form.addRow("", self.url_note)
        self.new_button = QPushButton("New")
        self.test_button = QPushButton("Test")
        self.save_button = QPushButton("Save endpoint")
        self.save_button.setObjectName("primary")
        self.remove_button = QPushButton("Remove")
        self.remove_button.setObjectName("danger")
        buttons = QHBoxLayout()
        for b in (self.new_button, self.test_button, self.remove_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        buttons.addWidget(self.save_button)
        self.status_line = QLabel("")
        self.status_line.setObjectName("muted")
        self.status_line.setWordWrap(True)
        self.status_line.setAccessibleName("Endpoint status")

        fb_title = QLabel("Fallback for a local model")
        fb_title.setObjectName("sectionTitle")
        self.fb_model = QLineEdit()
        self.fb_model.setAccessibleName("Local model id")
        self.fb_model.setPlaceholderText("publisher/repo/QUANT (see My Models or hearth ls)")
        self.fb_remote = QComboBox()
        self.fb_remote.setAccessibleName("Remote model")
        self.fb_not_loaded = QCheckBox("when it is not loaded")
        self.fb_failure = QCheckBox("when it fails before the first token")
        self.fb_busy = QSpinBox()
        self.fb_busy.setRange(0, 4096)
        self.fb_busy.setSpecialValueText("never")
        self.fb_busy.setAccessibleName("Busy threshold")
        self.fb_timeout = QDoubleSpinBox()
        self.fb_timeout.setRange(0, 3600)
        self.fb_timeout.setSpecialValueText("never")
        self.fb_timeout.setSuffix(" s")
        self.fb_timeout.setAccessibleName("First token timeout")
        for box in (self.fb_not_loaded, self.fb_failure):
            box.setChecked(True)
        fb_form = QFormLayout()
        fb_form.addRow("Local model", self.fb_model)
        fb_form.addRow("Answer with", self.fb_remote)
        fb_form.addRow("", self.fb_not_loaded)
        fb_form.addRow("", self.fb_failure)
        fb_form.addRow("When this many run locally", self.fb_busy)
        fb_form.addRow("When no token within", self.fb_timeout)
        self.rules = QListWidget()
        self.rules.setAccessibleName("Fallback rules")
        self.rules.setMaximumHeight(90)
        self.rules.currentItemChanged.connect(self._on_rule)
        self.fb_save = QPushButton("Save fallback")
        self.fb_clear = QPushButton("Remove fallback")
        fb_buttons = QHBoxLayout()
        fb_buttons.addStretch(1)
        fb_buttons.addWidget(self.fb_clear)
        fb_buttons.addWidget(self.fb_save)

        close = QPushButton("Close")
        close.clicked.connect(self.accept)
        layout = QVBoxLayout(self)
        layout.addWidget(self.banner)
        layout.addWidget(intro)
        layout.addWidget(self.endpoints)
        layout.addLayout(form)
        layout.addLayout(buttons)
        layout.addWidget(self.status_line)
        layout.addWidget(fb_title)
        layout.addWidget(self.rules)
        layout.addLayout(fb_form)
        layout.addLayout(fb_buttons)
        layout.addStretch(1)
        layout.addWidget(close)

        self.new_button.clicked.connect(self.clear_form)
        self.test_button.clicked.connect(self._test)
        self.save_button.clicked.connect(lambda: self._save(False))
        self.remove_button.clicked.connect(self._remove)
        self.fb_save.clicked.connect(self._save_fallback)
        self.fb_clear.clicked.connect(
            lambda: self.fallback_requested.emit(self.fb_model.text().strip(), None)
        )

    def connect_bridge(self, bridge: UsageBridge) -> None:
        self.list_requested.connect(bridge.list_remotes)
        self.save_requested.connect(bridge.save_remote)
        self.remove_requested.connect(bridge.remove_remote)
        self.test_requested.connect(bridge.test_remote)
        self.fallback_requested.connect(bridge.set_fallback)
        bridge.remotes_ready.connect(self.show_view)
        bridge.remote_tested.connect(self._on_tested)
        bridge.remote_saved.connect(self._on_saved)
        bridge.remote_needs_consent.connect(self._ask_consent)
        bridge.failed.connect(self.status_line.setText)

    # ------------------------------------------------------------------ view
    @Slot(object)
    def show_view(self, view: RemotesView) -> None:
        self.view = view
        self.banner.setText(
            "Local only is on: remote engines are off until you turn it off in Settings."
        )
        self.banner.setVisible(view.local_only)
        for w in (self.test_button, self.save_button):
            w.setEnabled(not view.local_only)
        current = self._editing
        self.endpoints.clear()
        for e in view.endpoints:
            key = "key stored" if view.has_key.get(e.name) else "no key"
            state = "" if e.enabled else " · off"
            error = view.listing.errors.get(e.name)
            models = [m for m in view.listing.models if m.endpoint == e.name]
            found = f" · ⚠ {error}" if error else (f" · {len(models)} models" if models else "")
            item = QListWidgetItem(f"{e.name} — {e.base_url} ({key}{state}){found}")
            item.setData(0x0100, e.name)
            self.endpoints.addItem(item)
            if e.name == current:
                self.endpoints.setCurrentItem(item)
        self.fb_remote.clear()
        for m in view.listing.models:
            self.fb_remote.addItem(m.label, m.id)
        self.rules.clear()
        for model_id, rule in view.fallback.items():
            item = QListWidgetItem(f"{model_id} → {rule.remote_model}")
            item.setData(0x0100, model_id)
            self.rules.addItem(item)
            if self.fb_remote.findData(rule.remote_model) < 0:
                self.fb_remote.addItem(rule.remote_model, rule.remote_model)
        if self._fallback_for:  # asked for before this view arrived
            self._show_rule(self._fallback_for)
            self._fallback_for = None

    def clear_form(self) -> None:
        self._editing = None
        self.endpoints.clearSelection()
        for w in (self.name, self.url, self.key):
            w.clear()
        self.key.setPlaceholderText("optional")
        self.enabled.setChecked(True)
        self.status_line.clear()

    def _on_pick(self, item: QListWidgetItem | None) -> None:
        if item is None or self.view is None:
            return
        name = item.data(0x0100)
        endpoint = next((e for e in self.view.endpoints if e.name == name), None)
        if endpoint is None:
            return
        self._editing = name
        self.name.setText(endpoint.name)
        self.url.setText(endpoint.base_url)
        self.key.clear()
        stored = self.view.has_key.get(name)
        self.key.setPlaceholderText("unchanged (stored)" if stored else "optional")
        self.enabled.setChecked(endpoint.enabled)

    def edit_fallback_for(self, model_id: str) -> None:
        """Open the fallback form on one local model (from the chat's model bar)."""
        self._fallback_for = model_id
        self._show_rule(model_id)
        self.fb_remote.setFocus()

    def _show_rule(self, model_id: str) -> None:
        self.fb_model.setText(model_id)
        rule = self.view.fallback.get(model_id) if self.view is not None else None
        if rule is not None:
            self._fill_rule(model_id, rule)

    def _on_rule(self, item: QListWidgetItem | None) -> None:
        if item is None or self.view is None:
            return
        model_id = item.data(0x0100)
        rule = self.view.fallback.get(model_id)
        if rule is not None:
            self._fill_rule(model_id, rule)

    def _fill_rule(self, model_id: str, rule: FallbackRule) -> None:
        self.fb_model.setText(model_id)
        self.fb_remote.setCurrentIndex(max(0, self.fb_remote.findData(rule.remote_model)))
        self.fb_not_loaded.setChecked(rule.on_not_loaded)
        self.fb_failure.setChecked(rule.on_failure)
        self.fb_busy.setValue(rule.busy_in_flight)
        self.fb_timeout.setValue(rule.first_token_timeout_s)

    def _warn_clear_text(self, url: str) -> None:
        clear = sends_key_in_clear(url.strip())
        self.url_note.setText(
            "This address is plain http to another machine: a key and your prompts cross the "
            "network unencrypted."
            if clear
            else ""
        )

    # --------------------------------------------------------------- actions
    def _key(self) -> str | None:
        text = self.key.text().strip()
        return text or None  # None keeps a stored key

    def _test(self) -> None:
        self.status_line.setText("Testing…")
        self.test_requested.emit(self.name.text().strip(), self.url.text().strip(), self._key())

    def _save(self, allow_file: bool) -> None:
        self.save_requested.emit(
            self.name.text().strip(),
            self.url.text().strip(),
            self._key(),
            self.enabled.isChecked(),
            allow_file,
            self._editing,
        )
        self._editing = self.name.text().strip()

    def _remove(self) -> None:
        if self._editing:
            self.remove_requested.emit(self._editing)
            self.clear_form()

    def _save_fallback(self) -> None:
        model_id = self.fb_model.text().strip()
        remote = self.fb_remote.currentData()
        if not model_id or not remote:
            self.status_line.setText("Name a local model and pick a remote model for the fallback.")
            return
        rule = FallbackRule(
            remote_model=str(remote),
            on_not_loaded=self.fb_not_loaded.isChecked(),
            on_failure=self.fb_failure.isChecked(),
            busy_in_flight=self.fb_busy.value(),
            first_token_timeout_s=self.fb_timeout.value(),
        )
        self.fallback_requested.emit(model_id, rule)

    @Slot(str, object)
    def _on_tested(self, name: str, result: object) -> None:
        if isinstance(result, list):
            shown = ", ".join(result[:8]) + (" …" if len(result) > 8 else "")
            self.status_line.setText(f"'{name}' answered with {len(result)} models: {shown}")
        else:
            self.status_line.setText(str(result))

    @Slot(str)
    def _on_saved(self, name: str) -> None:
        self.status_line.setText(f"Saved '{name}'.")

    @Slot(str, str)
    def _ask_consent(self, name: str, why: str) -> None:
        answer = QMessageBox.question(
            self,
            "No keyring",
            f"{why}\n\nKeep the key for '{name}' in a private file (readable only by you) "
            "in Hearth's data folder instead?",
        )
        if answer == QMessageBox.StandardButton.Yes:
            self._save(True)
