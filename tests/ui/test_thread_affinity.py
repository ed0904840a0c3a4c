"""Signals emitted on the bridges' worker threads must reach widget code on the UI thread.

Qt queues a cross-thread signal only when the receiver is a QObject method; a lambda or a
plain object's method runs on the emitting thread, where touching a widget crashes at
random (seen: a segfault in a UI test when a fallback was saved). The probes sit one call
further in, on instance attributes, because how PySide6 dispatches depends on the class:
a method patched onto a class, or an override of a slot in a subclass (even with @Slot,
PySide6 6.11), is itself called on the emitting thread.
"""

from __future__ import annotations

import threading

from PySide6.QtCore import QTimer


def test_worker_signals_run_their_ui_handlers_on_the_ui_thread(
    qtbot, make_app, isolated_home
) -> None:
    hearth = make_app()
    seen: dict[str, bool] = {}

    def probe(name: str):  # type: ignore[no-untyped-def]
        def record(*_args: object) -> None:
            seen[name] = threading.current_thread() is threading.main_thread()

        return record

    page = hearth.chat
    page.model_bar.set_remote_models = probe("remotes_ready → app")  # type: ignore[method-assign]
    page.show_notice = probe("exported → chat page")  # type: ignore[method-assign]
    page.open_conversation.connect(probe("imported → chat page"))
    conversation = hearth.core.chats.create_conversation("Imported")

    # Each signal is emitted on its bridge's own worker thread, as in the app.
    usage, bridge = hearth.usage_bridge, hearth.bridge
    QTimer.singleShot(0, usage, lambda: usage.list_remotes(False))
    QTimer.singleShot(0, bridge, lambda: bridge.emit_exported("/tmp/chat.md"))
    QTimer.singleShot(0, bridge, lambda: bridge.emit_imported(conversation))
    qtbot.waitUntil(lambda: len(seen) == 3, timeout=10_000)
    assert seen == {
        "remotes_ready → app": True,
        "exported → chat page": True,
        "imported → chat page": True,
    }
