"""Per-chat settings: system prompt and sampling parameters."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.backend.engine.types import SamplingParams
from app.backend.settings.schema import EXTERNAL_DESCRIPTIONS

_HELP = EXTERNAL_DESCRIPTIONS.get(SamplingParams, {})


class ParamsPanel(QWidget):
    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("paramsPanel")
        self.setMinimumWidth(230)
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

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 10, 12, 10)
        layout.setSpacing(8)
        title = QLabel("System prompt")
        title.setObjectName("sectionTitle")
        layout.addWidget(title)
        layout.addWidget(self.system_prompt)
        sampling_title = QLabel("Sampling")
        sampling_title.setObjectName("sectionTitle")
        layout.addWidget(sampling_title)
        layout.addLayout(form)
        layout.addStretch(1)
        note = QLabel("Saved with this chat when you send.")
        note.setObjectName("muted")
        note.setWordWrap(True)
        layout.addWidget(note)
        self.set_values("", SamplingParams())
        for spin in (self.temperature, self.top_p, self.min_p, self.repeat_penalty):
            spin.valueChanged.connect(self.changed)
        for ispin in (self.top_k, self.max_tokens, self.seed):
            ispin.valueChanged.connect(self.changed)

    def set_values(self, system_prompt: str, sampling: SamplingParams) -> None:
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
