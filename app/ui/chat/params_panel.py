"""Per-chat settings: preset, system prompt, sampling, context overflow, structured output."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.backend.chats import ConversationOptions, Preset
from app.backend.engine.types import SamplingParams
from app.backend.settings.schema import EXTERNAL_DESCRIPTIONS
from app.backend.structured import SchemaError, parse_schema

_HELP = EXTERNAL_DESCRIPTIONS.get(SamplingParams, {})
OVERFLOW_CHOICES = (
    (
        "truncate_middle",
        "Truncate middle",
        "Keep the system prompt, the first message and the latest ones",
    ),
    ("rolling_window", "Rolling window", "Keep the system prompt and the latest messages that fit"),
    ("stop", "Stop at limit", "Send nothing and say so"),
)


class ParamsPanel(QWidget):
    changed = Signal()
    #: (action, arguments) for the bridge's chat_action (presets).
    action_requested = Signal(str, dict)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("paramsPanel")
        self.setMinimumWidth(230)
        self._presets: list[Preset] = []
        self.preset = QComboBox()
        self.preset.setAccessibleName("Preset")
        self.preset.setToolTip("Named system prompt + parameters; applying one changes this chat")
        self.save_preset_button = QPushButton("Save as…")
        self.save_preset_button.setAccessibleName("Save preset")
        self.delete_preset_button = QPushButton("Delete")
        self.delete_preset_button.setAccessibleName("Delete preset")
        self.default_preset_button = QPushButton("Default for model")
        self.default_preset_button.setAccessibleName("Default preset for this model")
        self.default_preset_button.setCheckable(True)
        self.default_preset_button.setToolTip(
            "New chats start from this preset while this model is loaded"
        )
        self.overflow = QComboBox()
        self.overflow.setAccessibleName("Context overflow")
        for key, label, tip in OVERFLOW_CHOICES:
            self.overflow.addItem(label, key)
            self.overflow.setItemData(self.overflow.count() - 1, tip, Qt.ItemDataRole.ToolTipRole)
        self.overflow.setToolTip("What to send when the chat no longer fits in the context")
        self.schema = QPlainTextEdit()
        self.schema.setAccessibleName("JSON schema")
        self.schema.setPlaceholderText('Structured output: a JSON schema, e.g. {"type": "object"}')
        self.schema.setMaximumHeight(90)
        self.schema_status = QLabel("")
        self.schema_status.setObjectName("muted")
        self.schema_status.setWordWrap(True)
        self.schema.textChanged.connect(self._check_schema)
        self.system_prompt = QPlainTextEdit()
        self.system_prompt.setPlaceholderText("You are a helpful assistant.")
        self.system_prompt.setAccessibleName("System prompt")
        self.system_prompt.setToolTip("Instructions the model sees before the conversation")
        self.system_prompt.setMaximumHeight(140)
        self.temperature = _double(0.0, 2.0, 0.05, "Temperature")
        self.top_p = _double(0.0, 1.0, 0.01, "Top P")
        self.top_k = _int(0, 1000, "Top K")
        self.min_p = _double(0.0, 1.0, 0.01, "Min P")
        self.repeat_penalty = _double(0.5, 2.0, 0.01, "Repeat penalty")
        self.max_tokens = _int(1, 131072, "Limit response length")
        self.seed = _int(-1, 2**31 - 1, "Seed")
        self.seed.setSpecialValueText("Random")
        self.stop = QLineEdit()
        self.stop.setPlaceholderText("e.g. ###, User:")
        self.stop.setAccessibleName("Stop strings")
        self.stop.setToolTip(f"{_HELP.get('stop', '')} Comma-separated; \\n stands for a newline")
        for key, widget in (
            ("temperature", self.temperature),
            ("top_p", self.top_p),
            ("top_k", self.top_k),
            ("min_p", self.min_p),
            ("repeat_penalty", self.repeat_penalty),
            ("max_tokens", self.max_tokens),
            ("seed", self.seed),
        ):
            widget.setToolTip(_HELP.get(key, ""))

        form = QFormLayout()
        form.setLabelAlignment(Qt.AlignmentFlag.AlignLeft)
        form.setVerticalSpacing(8)
        form.addRow("Temperature", self.temperature)
        form.addRow("Top P", self.top_p)
        form.addRow("Top K", self.top_k)
        form.addRow("Min P", self.min_p)
        form.addRow("Repeat penalty", self.repeat_penalty)
        form.addRow("Max tokens", self.max_tokens)
        form.addRow("Seed", self.seed)
        form.addRow("Stop strings", self.stop)

        inner = QWidget()
        layout = QVBoxLayout(inner)
        layout.setContentsMargins(6, 10, 12, 10)
        layout.setSpacing(8)
        preset_title = QLabel("Preset")
        preset_title.setObjectName("sectionTitle")
        layout.addWidget(preset_title)
        layout.addWidget(self.preset)
        preset_row = QHBoxLayout()
        preset_row.addWidget(self.save_preset_button)
        preset_row.addWidget(self.delete_preset_button)
        layout.addLayout(preset_row)
        layout.addWidget(self.default_preset_button)
        title = QLabel("System prompt")
        title.setObjectName("sectionTitle")
        layout.addWidget(title)
        layout.addWidget(self.system_prompt)
        sampling_title = QLabel("Sampling")
        sampling_title.setObjectName("sectionTitle")
        layout.addWidget(sampling_title)
        layout.addLayout(form)
        context_title = QLabel("Context overflow")
        context_title.setObjectName("sectionTitle")
        layout.addWidget(context_title)
        layout.addWidget(self.overflow)
        schema_title = QLabel("Structured output")
        schema_title.setObjectName("sectionTitle")
        layout.addWidget(schema_title)
        layout.addWidget(self.schema)
        layout.addWidget(self.schema_status)
        layout.addStretch(1)
        note = QLabel("Saved with this chat when you send.")
        note.setObjectName("muted")
        note.setWordWrap(True)
        layout.addWidget(note)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(inner)
        # The splitter must leave room for the form: it never scrolls sideways.
        self.setMinimumWidth(max(230, inner.minimumSizeHint().width() + 14))
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)
        self.preset.activated.connect(self._apply_preset)
        self.save_preset_button.clicked.connect(self._save_preset)
        self.delete_preset_button.clicked.connect(self._delete_preset)
        self.default_preset_button.clicked.connect(self._toggle_default)
        self.set_presets([], None)
        self.set_values("", SamplingParams())
        for spin in (self.temperature, self.top_p, self.min_p, self.repeat_penalty):
            spin.valueChanged.connect(self.changed)
        for ispin in (self.top_k, self.max_tokens, self.seed):
            ispin.valueChanged.connect(self.changed)

    def set_values(
        self,
        system_prompt: str,
        sampling: SamplingParams,
        options: ConversationOptions | None = None,
    ) -> None:
        options = options or ConversationOptions()
        self.overflow.setCurrentIndex(max(0, self.overflow.findData(options.overflow_policy)))
        self.schema.setPlainText(options.json_schema)
        self.system_prompt.setPlainText(system_prompt)
        self.temperature.setValue(sampling.temperature)
        self.top_p.setValue(sampling.top_p)
        self.top_k.setValue(sampling.top_k)
        self.min_p.setValue(sampling.min_p)
        self.repeat_penalty.setValue(sampling.repeat_penalty)
        self.max_tokens.setValue(sampling.max_tokens)
        self.seed.setValue(-1 if sampling.seed is None else sampling.seed)
        self.stop.setText(", ".join(s.replace("\n", "\\n") for s in sampling.stop))

    def sampling(self) -> SamplingParams:
        stops = [s.strip().replace("\\n", "\n") for s in self.stop.text().split(",")]
        return SamplingParams(
            temperature=self.temperature.value(),
            top_p=self.top_p.value(),
            top_k=self.top_k.value(),
            min_p=self.min_p.value(),
            repeat_penalty=self.repeat_penalty.value(),
            max_tokens=self.max_tokens.value(),
            seed=None if self.seed.value() < 0 else self.seed.value(),
            stop=[s for s in stops if s],
        )

    def system_prompt_text(self) -> str:
        return self.system_prompt.toPlainText()

    def options(self) -> ConversationOptions:
        return ConversationOptions(
            self.overflow.currentData() or "truncate_middle",
            self.schema.toPlainText().strip(),
        )

    def schema_problem(self) -> str | None:
        """Why the schema cannot be used (None when empty or valid)."""
        text = self.schema.toPlainText().strip()
        if not text:
            return None
        try:
            parse_schema(text)
        except SchemaError as exc:
            return str(exc)
        return None

    def _check_schema(self) -> None:
        problem = self.schema_problem()
        if problem:
            self.schema_status.setText(f"✗ {problem}")
        elif self.schema.toPlainText().strip():
            self.schema_status.setText("✓ Replies will follow this schema.")
        else:
            self.schema_status.setText("")

    # ------------------------------------------------------------------ presets
    def set_presets(self, presets: list[Preset], default_id: int | None) -> None:
        self._presets = presets
        current = self.preset.currentData()
        self.preset.clear()
        self.preset.addItem("No preset" if presets else "No presets yet", None)
        for preset in presets:
            label = preset.name + ("  (default for model)" if preset.id == default_id else "")
            self.preset.addItem(label, preset.id)
        index = self.preset.findData(current)
        self.preset.setCurrentIndex(max(0, index))
        self._default_id = default_id
        self._sync_preset_buttons()

    def _sync_preset_buttons(self) -> None:
        chosen = self.preset.currentData()
        self.delete_preset_button.setEnabled(chosen is not None)
        self.default_preset_button.setEnabled(chosen is not None)
        self.default_preset_button.setChecked(chosen is not None and chosen == self._default_id)

    def _apply_preset(self, _index: int = 0) -> None:
        chosen = self.preset.currentData()
        preset = next((p for p in self._presets if p.id == chosen), None)
        if preset is not None:
            self.set_values(preset.system_prompt, preset.sampling, preset.options)
            self.changed.emit()
        self._sync_preset_buttons()

    def save_preset_as(self, name: str) -> None:
        self.action_requested.emit(
            "save_preset",
            {
                "name": name,
                "system_prompt": self.system_prompt_text(),
                "sampling": self.sampling(),
                "options": self.options(),
            },
        )

    def _save_preset(self) -> None:
        current = self.preset.currentText() if self.preset.currentData() is not None else ""
        name, ok = QInputDialog.getText(self, "Save preset", "Preset name:", text=current)
        if ok and name.strip():
            self.save_preset_as(name.strip())

    def _delete_preset(self) -> None:
        chosen = self.preset.currentData()
        if chosen is not None:
            self.action_requested.emit("delete_preset", {"preset_id": chosen})

    def _toggle_default(self, on: bool) -> None:
        chosen = self.preset.currentData()
        self.action_requested.emit("default_preset", {"preset_id": chosen if on else None})


def _double(low: float, high: float, step: float, name: str) -> QDoubleSpinBox:
    spin = QDoubleSpinBox()
    spin.setRange(low, high)
    spin.setSingleStep(step)
    spin.setDecimals(2)
    spin.setAccessibleName(name)
    return spin


def _int(low: int, high: int, name: str) -> QSpinBox:
    spin = QSpinBox()
    spin.setRange(low, high)
    spin.setAccessibleName(name)
    return spin
