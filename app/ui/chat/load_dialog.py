"""Load with options: the planner's numbers, and the user's overrides (remembered per model).

Every change is re-planned off the UI thread (the page forwards ``plan_requested`` to the
bridge); the dialog only shows what comes back.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QTimer, Signal, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QMessageBox,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.backend.engine.types import LoadParams

VERDICTS = {
    "full_gpu": "Full GPU offload",
    "partial": "Partial GPU offload",
    "cpu_only": "CPU only",
    "does_not_fit": "Does not fit in RAM + VRAM",
}
KV_TYPES = ("f16", "q8_0", "q4_0")


def mib(n_bytes: int) -> str:
    return f"{n_bytes / 2**20:,.0f} MiB" if n_bytes < 10 * 2**30 else f"{n_bytes / 2**30:.1f} GiB"


class LoadDialog(QDialog):
    plan_requested = Signal(str, dict)  # model id, overrides
    load_confirmed = Signal(str, dict, bool)  # model id, overrides, remember

    def __init__(self, model_id: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model_id = model_id
        self.setWindowTitle(f"Load {model_id}")
        self.setMinimumWidth(480)
        self.verdict = QLabel("Planning…")
        self.verdict.setObjectName("sectionTitle")
        self.numbers = QLabel("")
        self.numbers.setWordWrap(True)
        self.numbers.setAccessibleName("Estimated memory")
        self.reasons = QLabel("")
        self.reasons.setWordWrap(True)
        self.reasons.setObjectName("pageSubtitle")

        self.gpu_layers = QSpinBox()
        self.gpu_layers.setRange(-1, 999)
        self.gpu_layers.setSpecialValueText("Automatic")
        self.gpu_layers.setAccessibleName("GPU layers")
        self.n_ctx = QSpinBox()
        self.n_ctx.setRange(256, 1 << 20)
        self.n_ctx.setSingleStep(1024)
        self.n_ctx.setAccessibleName("Context length")
        self.kv_type = QComboBox()
        self.kv_type.addItems(KV_TYPES)
        self.kv_type.setAccessibleName("KV cache type")
        self.flash_attn = QCheckBox("Flash attention")
        self.threads = QSpinBox()
        self.threads.setRange(0, 256)
        self.threads.setSpecialValueText("Automatic")
        self.threads.setAccessibleName("CPU threads")
        self.mmap = QCheckBox("Memory-map the file (mmap)")
        self.mlock = QCheckBox("Keep in RAM (mlock)")
        self.remember = QCheckBox("Remember these settings for this model")
        self.remember.setChecked(True)

        form = QFormLayout()
        form.addRow("GPU layers", self.gpu_layers)
        form.addRow("Context length", self.n_ctx)
        form.addRow("KV cache type", self.kv_type)
        form.addRow("", self.flash_attn)
        form.addRow("CPU threads", self.threads)
        form.addRow("", self.mmap)
        form.addRow("", self.mlock)

        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.load_button = buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.load_button.setText("Load")
        buttons.accepted.connect(self._on_load)
        buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(self.verdict)
        layout.addWidget(self.numbers)
        layout.addWidget(self.reasons)
        layout.addLayout(form)
        layout.addWidget(self.remember)
        layout.addWidget(buttons)

        self._verdict = ""
        self._filling = False
        self._replan = QTimer(self)
        self._replan.setSingleShot(True)
        self._replan.setInterval(150)
        self._replan.timeout.connect(lambda: self.plan_requested.emit(model_id, self.overrides()))
        for spin in (self.gpu_layers, self.n_ctx, self.threads):
            spin.valueChanged.connect(self._changed)
        self.kv_type.currentIndexChanged.connect(self._changed)
        for box in (self.flash_attn, self.mmap, self.mlock):
            box.toggled.connect(self._changed)
        self._user_layers = False

    def overrides(self) -> dict[str, Any]:
        """The choices as a partial ``LoadParams`` dict (automatic fields left out)."""
        kv = self.kv_type.currentText()
        chosen: dict[str, Any] = {
            "n_ctx": self.n_ctx.value(),
            "type_k": kv,
            "type_v": kv,
            "flash_attn": self.flash_attn.isChecked(),
            "use_mmap": self.mmap.isChecked(),
            "use_mlock": self.mlock.isChecked(),
        }
        if self.gpu_layers.value() >= 0:
            chosen["n_gpu_layers"] = self.gpu_layers.value()
        if self.threads.value() > 0:
            chosen["n_threads"] = self.threads.value()
        return chosen

    @Slot(str, dict, object, object)
    def show_plan(self, model_id: str, overrides: dict, params: LoadParams, plan: Any) -> None:
        if model_id != self.model_id:
            return
        self._verdict = plan.verdict
        self.verdict.setText(f"{VERDICTS.get(plan.verdict, plan.verdict)}")
        memory = plan.memory
        self.numbers.setText(
            f"Estimated memory: <b>GPU {mib(memory.gpu_bytes)}</b> | "
            f"<b>Total {mib(memory.total_bytes)}</b><br>"
            f"weights {mib(memory.weights_bytes)} · KV cache {mib(memory.kv_bytes)} "
            f"({memory.kv_cells} cells) · compute {mib(memory.compute_bytes)}<br>"
            f"{plan.gpu_layers} of {plan.n_layers + 1} layers on the GPU · "
            f"context {plan.n_ctx} tokens"
        )
        self.reasons.setText("\n".join(plan.reasons[:4]))
        if not overrides:
            self._fill(params)

    def _fill(self, params: LoadParams) -> None:
        self._filling = True
        self.n_ctx.setValue(params.n_ctx)
        self.kv_type.setCurrentText(params.type_k if params.type_k in KV_TYPES else "f16")
        self.flash_attn.setChecked(params.flash_attn)
        self.threads.setValue(params.n_threads or 0)
        self.mmap.setChecked(params.use_mmap)
        self.mlock.setChecked(params.use_mlock)
        self.gpu_layers.setValue(-1)
        self._filling = False

    def _changed(self) -> None:
        if not self._filling:
            self._replan.start()

    def _on_load(self) -> None:
        if self._verdict == "does_not_fit":
            answer = QMessageBox.warning(
                self,
                "Model may not fit",
                "The plan says this model does not fit in this machine's free RAM and VRAM "
                "with these settings. Loading may fail or make the system swap.\n\n"
                "Load anyway?",
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                QMessageBox.StandardButton.No,
            )
            if answer != QMessageBox.StandardButton.Yes:
                return
        self.load_confirmed.emit(self.model_id, self.overrides(), self.remember.isChecked())
        self.accept()
