"""Runs the real Hearth window (offscreen) and chats forever; tests SIGKILL it mid-reply.

Prints ``committed <message id>`` once the user's message is stored and a reply has started,
so the test knows what must survive the kill.
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from app.backend.core import HearthCore
from app.backend.engine.types import EngineState
from app.ui.app import HearthApp


def main() -> int:
    app = QApplication(sys.argv)
    hearth = HearthApp(HearthCore())
    hearth.window.show()
    chat = hearth.chat
    turn = 0

    def step() -> None:
        nonlocal turn
        engine = hearth.bridge.chat_status.state
        if engine is EngineState.EMPTY and chat.model_bar.picker.count():
            chat.model_bar.load_button.click()
        elif engine is EngineState.READY and chat.current is not None and not chat.generating:
            turn += 1
            chat.params.max_tokens.setValue(200)
            chat.composer.input.setPlainText(f"message {turn}")
            chat.composer.send_button.click()

    def started(_conversation_id: int, message_id: int) -> None:
        print(f"committed {message_id - 1}", flush=True)

    hearth.bridge.reply_started.connect(started)
    timer = QTimer()
    timer.timeout.connect(step)
    timer.start(50)
    return int(app.exec())


if __name__ == "__main__":
    sys.exit(main())
