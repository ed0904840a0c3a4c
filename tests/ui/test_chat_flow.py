"""The Chat section driven like a user would, with the real engine behind it."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
from PySide6.QtCore import QElapsedTimer, Qt, QTimer

from app.backend.engine.types import EngineState
from app.ui.app import HearthApp
from tests.helpers.gguf_factory import write_not_gguf, write_tiny_llama

pytest.importorskip("llama_cpp")

# Greedy on the starter model this runs to max_tokens (checked: 400 of 400) instead of
# stopping at "\nUser:" after a few tokens as short prompts do.
LONG_REPLY_PROMPT = "Count from 1 to 500, separated by commas."


@pytest.fixture
def tiny_home(isolated_home: Path) -> Path:
    write_tiny_llama(isolated_home / "models" / "acme" / "tiny-llama" / "tiny-llama-F32.gguf")
    return isolated_home


class Heartbeat:
    """Measures the longest gap between UI-thread timer ticks (a blocked UI shows as a gap)."""

    def __init__(self, interval_ms: int = 5) -> None:
        self.timer = QTimer()
        self.timer.setInterval(interval_ms)
        self.clock = QElapsedTimer()
        self.worst_ms = 0
        self.timer.timeout.connect(self._tick)

    def start(self) -> None:
        self.clock.start()
        self.timer.start()

    def _tick(self) -> None:
        self.worst_ms = max(self.worst_ms, self.clock.restart())

    def stop(self) -> int:
        self.timer.stop()
        return self.worst_ms


def _load_first_model(qtbot, hearth: HearthApp) -> None:
    bar = hearth.chat.model_bar
    qtbot.waitUntil(lambda: bar.picker.count() > 0, timeout=10_000)
    bar.load_button.click()
    qtbot.waitUntil(lambda: hearth.bridge.chat_status.state is EngineState.READY, timeout=60_000)
    qtbot.waitUntil(lambda: bar.mode_label.text() != "", timeout=10_000)


def _send(qtbot, hearth: HearthApp, text: str) -> None:
    qtbot.waitUntil(lambda: hearth.chat.current is not None, timeout=10_000)
    hearth.chat.composer.input.setPlainText(text)
    hearth.chat.composer.send_button.click()


def _wait_for_finished_reply(qtbot, hearth: HearthApp, count: int, timeout: int = 60_000) -> None:
    """Wait until the chat holds ``count`` messages, the last a finished reply, and the UI
    is idle again. (A tiny model can start and finish a reply between two polls, so waiting
    for ``generating`` to turn on first would race.)"""

    def finished() -> bool:
        messages = _stored_messages(hearth)
        return (
            len(messages) == count
            and messages[-1].role == "assistant"
            and messages[-1].status != "streaming"
            and not hearth.chat.generating
        )

    qtbot.waitUntil(finished, timeout=timeout)


def _stored_messages(hearth: HearthApp):
    assert hearth.chat.current is not None
    return hearth.core.chats.messages(hearth.chat.current.id)


def test_starts_cleanly_without_models_and_says_how_to_get_one(qtbot, make_app) -> None:
    hearth = make_app()
    qtbot.waitUntil(lambda: hearth.chat.current is not None, timeout=10_000)
    assert hearth.chat.model_bar.picker.count() == 0
    assert not hearth.chat.model_bar.load_button.isEnabled()
    assert "make setup" in hearth.chat.model_bar.picker.placeholderText()


def test_ready_is_announced_only_once_the_chat_can_use_the_model(
    qtbot, make_app, tiny_home: Path
) -> None:
    """READY used to reach the UI before the engine manager had registered the engine and
    before the prompt was built, so a send in that gap found no model (and a test that read
    the engine on READY failed 1 run in ~10)."""
    hearth = make_app()
    bridge = hearth.bridge
    seen: list[tuple[bool, bool]] = []

    def on_status(status) -> None:  # runs on the bridge's thread, as it is emitted
        if status.state is EngineState.READY:
            seen.append((bridge.chat_engine is not None, bridge._builder is not None))

    bridge.engine_changed.connect(on_status, Qt.ConnectionType.DirectConnection)
    _load_first_model(qtbot, hearth)
    assert seen == [(True, True)]


def test_send_streams_a_reply_with_stats_and_mode(qtbot, make_app, tiny_home: Path) -> None:
    hearth = make_app()
    _load_first_model(qtbot, hearth)
    assert "Completion mode" in hearth.chat.model_bar.mode_label.text()
    hearth.chat.params.max_tokens.setValue(24)
    _send(qtbot, hearth, "hello there")
    _wait_for_finished_reply(qtbot, hearth, 2)
    messages = _stored_messages(hearth)
    assert [m.role for m in messages] == ["user", "assistant"]
    reply = messages[-1]
    assert reply.status == "complete"
    assert reply.stats is not None and reply.stats.completion_tokens > 0
    qtbot.waitUntil(lambda: "tok/s" in hearth.chat.transcript.toPlainText(), timeout=15_000)


def test_stop_ends_the_reply_and_keeps_what_was_written(
    qtbot, make_app, home_with_starter: Path
) -> None:
    hearth = make_app()
    _load_first_model(qtbot, hearth)
    hearth.chat.params.max_tokens.setValue(100_000)
    hearth.chat.params.repeat_penalty.setValue(1.0)
    hearth.chat.params.temperature.setValue(0.0)
    _send(qtbot, hearth, LONG_REPLY_PROMPT)
    qtbot.waitUntil(lambda: len(hearth.chat.transcript.streamed_text) > 20, timeout=30_000)
    clicked = time.monotonic()
    hearth.chat.composer.stop_button.click()
    qtbot.waitUntil(lambda: not hearth.chat.generating, timeout=15_000)
    assert time.monotonic() - clicked < 2.0
    reply = _stored_messages(hearth)[-1]
    assert reply.status == "cancelled"
    assert reply.stop_reason == "cancelled"
    assert reply.content
    qtbot.waitUntil(lambda: "Stopped" in hearth.chat.transcript.toPlainText(), timeout=15_000)


def test_regenerate_replaces_the_last_reply(qtbot, make_app, tiny_home: Path) -> None:
    hearth = make_app()
    _load_first_model(qtbot, hearth)
    hearth.chat.params.max_tokens.setValue(8)
    _send(qtbot, hearth, "first")
    _wait_for_finished_reply(qtbot, hearth, 2)
    first_reply = _stored_messages(hearth)[-1]
    hearth.chat.composer.regenerate_button.click()
    qtbot.waitUntil(
        lambda: (
            (m := _stored_messages(hearth))[-1].id != first_reply.id and m[-1].status == "complete"
        ),
        timeout=30_000,
    )
    assert [m.role for m in _stored_messages(hearth)] == ["user", "assistant"]


def test_regenerate_in_an_empty_chat_says_so_and_writes_nothing(
    qtbot, make_app, tiny_home: Path
) -> None:
    hearth = make_app()
    _load_first_model(qtbot, hearth)
    qtbot.waitUntil(lambda: hearth.chat.current is not None, timeout=15_000)
    hearth.chat.composer.regenerate_button.click()
    qtbot.waitUntil(lambda: hearth.chat.notice.isVisible(), timeout=5_000)
    assert "send a message first" in hearth.chat.notice.text()
    qtbot.wait(300)
    assert not hearth.chat.generating and _stored_messages(hearth) == []


def test_engine_killed_mid_reply_keeps_partial_text_and_can_reload(
    qtbot, make_app, home_with_starter: Path
) -> None:
    hearth = make_app()
    _load_first_model(qtbot, hearth)
    hearth.chat.params.max_tokens.setValue(100_000)
    hearth.chat.params.repeat_penalty.setValue(1.0)
    hearth.chat.params.temperature.setValue(0.0)
    _send(qtbot, hearth, LONG_REPLY_PROMPT)
    qtbot.waitUntil(lambda: len(hearth.chat.transcript.streamed_text) > 40, timeout=30_000)
    qtbot.wait(600)  # let a partial save happen
    engine = hearth.bridge.chat_engine
    assert engine is not None
    pid = engine.engine_pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    qtbot.waitUntil(lambda: not hearth.chat.generating, timeout=10_000)
    reply = _stored_messages(hearth)[-1]
    assert reply.status == "interrupted"
    assert reply.content and reply.content in hearth.chat.transcript.streamed_text
    assert "SIGKILL" in (reply.error or "")
    assert hearth.window.isVisible()
    qtbot.waitUntil(lambda: hearth.chat.notice.isVisible(), timeout=15_000)
    assert "stopped unexpectedly" in hearth.chat.notice.text()
    _load_first_model(qtbot, hearth)
    hearth.chat.params.max_tokens.setValue(5)
    _send(qtbot, hearth, "again")
    qtbot.waitUntil(lambda: _stored_messages(hearth)[-1].status == "complete", timeout=30_000)


def test_a_broken_model_file_shows_a_specific_error_and_chats_survive(
    qtbot, make_app, tiny_home: Path
) -> None:
    broken = tiny_home / "models" / "acme" / "broken" / "broken-Q4_0.gguf"
    broken.parent.mkdir(parents=True)
    write_tiny_llama(broken)
    broken.write_bytes(broken.read_bytes()[:5000])  # an interrupted copy
    hearth = make_app()
    qtbot.waitUntil(lambda: hearth.chat.current is not None, timeout=10_000)
    hearth.core.chats.add_message(hearth.chat.current.id, "user", "keep me")
    bar = hearth.chat.model_bar
    # Broken files are listed by the library with their error, not offered for loading.
    qtbot.waitUntil(lambda: bar.picker.count() == 1, timeout=10_000)
    hearth.bridge.load_model("acme/broken")
    qtbot.waitUntil(lambda: hearth.chat.notice.isVisible(), timeout=10_000)
    assert "broken-Q4_0.gguf" in hearth.chat.notice.text()
    assert "Traceback" not in hearth.chat.notice.text()
    assert [m.content for m in _stored_messages(hearth)] == ["keep me"]


def test_not_gguf_file_named_gguf_is_refused_with_its_reason(
    qtbot, make_app, isolated_home: Path
) -> None:
    fake = isolated_home / "models" / "acme" / "fake" / "fake-Q4_0.gguf"
    fake.parent.mkdir(parents=True)
    write_not_gguf(fake)
    hearth = make_app()
    qtbot.waitUntil(lambda: hearth.chat.current is not None, timeout=10_000)
    hearth.bridge.load_model("acme/fake")
    qtbot.waitUntil(lambda: hearth.chat.notice.isVisible(), timeout=10_000)
    assert "not a GGUF" in hearth.chat.notice.text()


def test_ui_thread_never_blocks_while_loading_and_streaming(
    qtbot, make_app, home_with_starter: Path
) -> None:
    hearth = make_app()
    beat = Heartbeat()
    beat.start()
    _load_first_model(qtbot, hearth)
    hearth.chat.params.max_tokens.setValue(120)
    hearth.chat.params.temperature.setValue(0.0)
    _send(qtbot, hearth, "Write a long story about a lighthouse keeper.")
    _wait_for_finished_reply(qtbot, hearth, 2, timeout=120_000)
    worst = beat.stop()
    # Generous for a loaded 2-core machine, yet any blocking load or decode call would
    # show as a stall of a second or more.
    assert worst < 400, f"UI thread stalled for {worst} ms"
    assert _stored_messages(hearth)[-1].stats.completion_tokens > 10


def test_prompt_template_mode_switch_is_remembered_per_model(
    qtbot, make_app, tiny_home: Path
) -> None:
    hearth = make_app()
    _load_first_model(qtbot, hearth)
    assert "Completion" in hearth.chat.model_bar.mode_label.text()
    hearth.chat.template_button.click()
    qtbot.waitUntil(lambda: hearth.chat.template_dialog is not None, timeout=15_000)
    dialog = hearth.chat.template_dialog
    assert dialog is not None
    assert "<|im_start|>" in dialog.editor.toPlainText()  # the ChatML fallback, ready to edit
    dialog.mode.setCurrentIndex(dialog.mode.findData("chat"))
    dialog.accept()
    qtbot.waitUntil(lambda: "Chat" in hearth.chat.model_bar.mode_label.text(), timeout=15_000)

    def saved_mode() -> str | None:  # written just after the label changes, on the bridge
        entry = hearth.core.settings_store.load().per_model.get("acme/tiny-llama/F32")
        return entry.template_mode if entry else None

    qtbot.waitUntil(lambda: saved_mode() == "chat", timeout=15_000)


def test_a_hostile_template_is_refused_and_the_previous_choice_stays(
    qtbot, make_app, tiny_home: Path
) -> None:
    hearth = make_app()
    _load_first_model(qtbot, hearth)
    hearth.bridge.set_template_override(
        "acme/tiny-llama/F32", "chat", "{{ ().__class__.__base__.__subclasses__() }}"
    )
    qtbot.waitUntil(lambda: hearth.chat.notice.isVisible(), timeout=15_000)
    assert "Tiny Llama" in hearth.chat.notice.text()
    assert "Completion" in hearth.chat.model_bar.mode_label.text()
    assert "acme/tiny-llama/F32" not in hearth.core.settings_store.load().per_model


def test_load_dialog_shows_the_plan_and_remembers_choices(qtbot, make_app, tiny_home: Path) -> None:
    hearth = make_app()
    bar = hearth.chat.model_bar
    qtbot.waitUntil(lambda: bar.picker.count() > 0, timeout=10_000)
    bar.options_button.click()
    dialog = hearth.chat.load_dialog
    assert dialog is not None
    qtbot.waitUntil(lambda: "Estimated memory" in dialog.numbers.text(), timeout=10_000)
    assert dialog.verdict.text() == "CPU only"
    assert dialog.n_ctx.value() == 512  # the tiny model's trained context caps the default
    dialog.n_ctx.setValue(256)
    qtbot.waitUntil(lambda: "context 256 tokens" in dialog.numbers.text(), timeout=10_000)
    dialog.load_button.click()
    qtbot.waitUntil(lambda: hearth.bridge.chat_status.state is EngineState.READY, timeout=60_000)
    engine = hearth.bridge.chat_engine
    assert engine is not None and engine.status.info is not None
    assert engine.status.info.n_ctx == 256
    saved = hearth.core.settings_store.load().per_model["acme/tiny-llama/F32"]
    assert saved.load is not None and saved.load["n_ctx"] == 256
    # Next time the remembered choice is offered again.
    bar.options_button.click()
    again = hearth.chat.load_dialog
    assert again is not None and again is not dialog
    qtbot.waitUntil(lambda: again.n_ctx.value() == 256, timeout=10_000)
