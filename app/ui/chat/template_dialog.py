"""Per-model prompt template: switch between chat and completion mode, edit the template."""

from __future__ import annotations

from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

MODES = (
    ("Automatic", "auto"),
    ("Chat (use the template)", "chat"),
    ("Completion (raw text)", "completion"),
)


class TemplateDialog(QDialog):
    """Shows what the bridge reported; the caller sends ``choice()`` back on accept."""

    def __init__(self, info: object, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.info = info
        self.setWindowTitle(f"Prompt template — {info.model_id}")  # type: ignore[attr-defined]
        self.resize(640, 520)
        self.reason = QLabel(info.reason)  # type: ignore[attr-defined]
        self.reason.setWordWrap(True)
        self.mode = QComboBox()
        self.mode.setAccessibleName("Prompt mode")
        for label, value in MODES:
            self.mode.addItem(label, value)
        self.mode.setCurrentIndex(self.mode.findData(info.override_mode or "auto"))  # type: ignore[attr-defined]
        self.editor = QPlainTextEdit(info.template)  # type: ignore[attr-defined]
        self.editor.setAccessibleName("Chat template (Jinja)")
        self.editor.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self._original = info.template  # type: ignore[attr-defined]

        form = QFormLayout()
        form.addRow("Mode", self.mode)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.reason)
        layout.addLayout(form)
        layout.addWidget(QLabel("Chat template (Jinja, rendered in a sandbox):"))
        layout.addWidget(self.editor, 1)
        layout.addWidget(buttons)

    def choice(self) -> tuple[str, str]:
        """(mode, template); the template is empty when the user left it unchanged."""
        text = self.editor.toPlainText()
        edited = text != self._original or self.info.has_override_template  # type: ignore[attr-defined]
        return str(self.mode.currentData()), text if edited else ""
