"""Remote models in the Chat: in the picker, streaming a reply, Stop, a remote dying mid-reply,
hybrid fallback (a local model not loaded, or busy), and Local only hiding them.

The remote is a real OpenAI-compatible server on loopback in a second process
(``tests/helpers/openai_stub_server.py``) streaming the tiny model's real generations; the
window, bridge thread, router and chat store are Hearth's own.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest
from keyring.backends import fail

from app.backend.core import HearthCore
from app.backend.engine.types import EngineState, Finished, GenerationRequest, SamplingParams
from app.backend.paths import DataPaths
from app.backend.remote import ChatRequest, RemoteRegistry
from app.backend.secrets import SecretStore
from app.backend.settings import SettingsStore
from app.backend.settings.schema import FallbackRule
from app.ui.app import HearthApp
from app.ui.chat.message_view import MessageView
from tests.helpers.gguf_factory import write_tiny_llama
from tests.integration.test_remote_engine import KEY, LONG, REMOTE_ID, Stub, start_stub

pytest.importorskip("llama_cpp")

LOCAL_ID = "acme/tiny-llama/F32"
WAIT = 60_000


@pytest.fixture
def no_keyring() -> Iterator[None]:
    original = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())  # headless: the consented private file holds the key
    yield
    keyring.set_keyring(original)


@pytest.fixture
def remote_model(tmp_path: Path) -> Path:
    return write_tiny_llama(tmp_path / "remote-model" / "tiny-F32.gguf", n_ctx_train=4096)


def _stub(tmp_path: Path, model: Path, pace_ms: float) -> Iterator[Stub]:
    server = start_stub(tmp_path, model, pace_ms=pace_ms)
    yield server
    server.kill()


@pytest.fixture
def stub(tmp_path: Path, remote_model: Path) -> Iterator[Stub]:
    yield from _stub(tmp_path, remote_model, 0.0)


@pytest.fixture
def slow_stub(tmp_path: Path, remote_model: Path) -> Iterator[Stub]:
    yield from _stub(tmp_path, remote_model, 30.0)  # seconds for a long reply


def _home(root: Path, base_url: str, fallback: bool = False) -> None:
    """A data root with the tiny local model, the endpoint (key in the private file) and,
    optionally, a fallback rule for the local model."""
    write_tiny_llama(root / "models" / "acme" / "tiny-llama" / "tiny-llama-F32.gguf")
    paths = DataPaths(root).ensure()
    store = SettingsStore(paths.settings_file)
    registry = RemoteRegistry(store, SecretStore(fallback_path=root / "secrets.json"))
    registry.save("stub", base_url, api_key=KEY, allow_file=True)
    registry.close()
    if fallback:
        rule = FallbackRule(remote_model=REMOTE_ID, on_not_loaded=True)
        store.update(lambda s: s.fallback.__setitem__(LOCAL_ID, rule))


def _wait_for_remote_listing(qtbot, hearth: HearthApp) -> None:
    bar = hearth.chat.model_bar
    qtbot.waitUntil(lambda: bar.remote_ids() == [REMOTE_ID], timeout=WAIT)


def _use_remote(qtbot, hearth: HearthApp) -> None:
    bar = hearth.chat.model_bar
    _wait_for_remote_listing(qtbot, hearth)
    bar.picker.setCurrentIndex(bar.picker.findData(REMOTE_ID))
    assert bar.load_button.text() == "Use"
    assert not bar.options_button.isEnabled()  # no load options for a remote model
    bar.load_button.click()
    qtbot.waitUntil(lambda: hearth.bridge.chat_status.state is EngineState.READY, timeout=WAIT)
    qtbot.waitUntil(lambda: bar.state_label.text() == "● Remote", timeout=WAIT)


def _send(qtbot, hearth: HearthApp, text: str, max_tokens: int) -> None:
    qtbot.waitUntil(lambda: hearth.chat.current is not None, timeout=WAIT)
    hearth.chat.params.temperature.setValue(0.0)
    hearth.chat.params.max_tokens.setValue(max_tokens)
    hearth.chat.composer.input.setPlainText(text)
    hearth.chat.composer.send_button.click()


def _messages(hearth: HearthApp):
    assert hearth.chat.current is not None
    return hearth.core.chats.messages(hearth.chat.current.id)


def _wait_for_reply(qtbot, hearth: HearthApp, count: int) -> None:
    def finished() -> bool:
        shown = _messages(hearth)
        return (
            len(shown) == count
            and shown[-1].role == "assistant"
            and shown[-1].status != "streaming"
            and not hearth.chat.generating
        )

    qtbot.waitUntil(finished, timeout=WAIT)


def _reply_text(hearth: HearthApp, message_id: int) -> str:
    """What the transcript shows for one message (header, body, footer)."""
    views = [v for v in hearth.chat.transcript.findChildren(MessageView) if v.isVisible()]
    return next((v.plain_text() for v in views if v.message.id == message_id), "")


def _wait_for_shown(qtbot, hearth: HearthApp, message_id: int, *parts: str) -> None:
    shown = lambda: all(p in _reply_text(hearth, message_id) for p in parts)  # noqa: E731
    qtbot.waitUntil(shown, timeout=WAIT)


def test_remote_models_sit_beside_local_ones_and_stream_a_reply(
    qtbot, make_app, isolated_home: Path, stub: Stub, no_keyring: None
) -> None:
    _home(isolated_home, stub.base_url)
    hearth = make_app()
    bar = hearth.chat.model_bar
    _wait_for_remote_listing(qtbot, hearth)
    rows = [bar.picker.itemText(i) for i in range(bar.picker.count())]
    assert rows[0] == LOCAL_ID
    assert "Remote · stub" in rows  # the endpoint's heading
    assert any(r.startswith("tiny-remote") and r.endswith("Remote · stub") for r in rows)

    _use_remote(qtbot, hearth)
    _send(qtbot, hearth, "Say something", 8)
    _wait_for_reply(qtbot, hearth, 2)
    reply = _messages(hearth)[-1]
    assert reply.status == "complete", reply.error
    assert reply.model_id == REMOTE_ID
    assert reply.stats is not None and 1 <= reply.stats.completion_tokens <= 8
    # The remote got the chat as OpenAI messages: the same request straight to the remote
    # (greedy) writes the same text.
    direct = hearth.core.remotes.engine(REMOTE_ID).submit(
        ChatRequest(
            [{"role": "user", "content": "Say something"}],
            SamplingParams(temperature=0.0, max_tokens=8),
        )
    )
    text, done = direct.collect(timeout=60)
    assert isinstance(done, Finished)
    assert reply.content == text
    _wait_for_shown(qtbot, hearth, reply.id, "tok/s")
    # Accounted under the remote engine, as a chat generation.
    records = [r for r in hearth.core.usage.store.records() if r.model_id == REMOTE_ID]
    chat = [r for r in records if r.source == "chat"]
    assert len(chat) == 1 and chat[0].engine == "remote:stub"
    assert chat[0].completion_tokens == reply.stats.completion_tokens


def test_stop_ends_a_remote_reply_and_keeps_it(
    qtbot, make_app, isolated_home: Path, slow_stub: Stub, no_keyring: None
) -> None:
    _home(isolated_home, slow_stub.base_url)
    hearth = make_app()
    _use_remote(qtbot, hearth)
    _send(qtbot, hearth, "Tell me a long story", 400)
    qtbot.waitUntil(lambda: len(hearth.chat.transcript.streamed_text) > 5, timeout=WAIT)
    hearth.chat.composer.stop_button.click()
    _wait_for_reply(qtbot, hearth, 2)
    reply = _messages(hearth)[-1]
    assert reply.status == "cancelled"
    assert reply.content and reply.stats is not None and reply.stats.completion_tokens < 400


def test_a_remote_going_away_mid_reply_keeps_the_partial_reply(
    qtbot, make_app, isolated_home: Path, slow_stub: Stub, no_keyring: None
) -> None:
    _home(isolated_home, slow_stub.base_url)
    hearth = make_app()
    _use_remote(qtbot, hearth)
    _send(qtbot, hearth, "Tell me a long story", 400)
    qtbot.waitUntil(lambda: len(hearth.chat.transcript.streamed_text) > 5, timeout=WAIT)
    slow_stub.kill()
    _wait_for_reply(qtbot, hearth, 2)
    reply = _messages(hearth)[-1]
    assert reply.status == "interrupted"
    assert reply.error is not None and "went away mid-reply" in reply.error
    assert reply.content  # what arrived before the remote died is kept
    _wait_for_shown(qtbot, hearth, reply.id, "Interrupted", "went away mid-reply")
    # The app is still up and says why the next message cannot be answered.
    assert hearth.window.isVisible()
    _send(qtbot, hearth, "Are you there?", 8)
    _wait_for_reply(qtbot, hearth, 4)
    again = _messages(hearth)[-1]
    assert again.status in ("error", "interrupted") and not again.content
    assert again.error and "Could not reach the remote engine 'stub'" in again.error


def test_fallback_answers_for_a_local_model_that_is_not_loaded(
    qtbot, make_app, isolated_home: Path, stub: Stub, no_keyring: None
) -> None:
    _home(isolated_home, stub.base_url, fallback=True)
    hearth = make_app()
    bar = hearth.chat.model_bar
    qtbot.waitUntil(lambda: bar.selected_model_id() == LOCAL_ID, timeout=WAIT)
    assert hearth.bridge.chat_status.state is EngineState.EMPTY  # nothing loaded
    _send(qtbot, hearth, "Say something", 6)
    _wait_for_reply(qtbot, hearth, 2)
    reply = _messages(hearth)[-1]
    assert reply.status == "complete", reply.error
    assert reply.content
    notice = f"Answered by {REMOTE_ID}: {LOCAL_ID} is not loaded."
    assert reply.meta.get("route_notice") == notice
    _wait_for_shown(qtbot, hearth, reply.id, notice)  # under the reply
    assert hearth.chat.notice.isVisible() and hearth.chat.notice.text() == notice
    records = [r for r in hearth.core.usage.store.records() if r.source == "chat"]
    assert [(r.model_id, r.engine) for r in records] == [(REMOTE_ID, "remote:stub")]
    # Stored with the message: a fresh core (the app restarted) reads it back.
    again = HearthCore(DataPaths(isolated_home))
    try:
        assert again.chats.get_message(reply.id).meta["route_notice"] == notice  # type: ignore[union-attr]
    finally:
        again.close()


@pytest.mark.qt_log_ignore("This plugin does not support raise")  # the dialog comes forward
def test_a_fallback_set_from_the_model_bar_answers_when_nothing_is_loaded(
    qtbot, make_app, isolated_home: Path, stub: Stub, no_keyring: None
) -> None:
    _home(isolated_home, stub.base_url, fallback=False)
    hearth = make_app()
    bar = hearth.chat.model_bar
    qtbot.waitUntil(lambda: bar.selected_model_id() == LOCAL_ID, timeout=WAIT)
    _send(qtbot, hearth, "Say something", 6)
    qtbot.waitUntil(lambda: "No model is loaded" in hearth.chat.notice.text(), timeout=WAIT)
    assert [m.role for m in _messages(hearth)] == ["user"]  # no rule: refused, nothing lost

    bar.remotes_button.click()
    dialog = hearth.remotes_dialog
    assert dialog is not None and dialog.isVisible()
    assert dialog.fb_model.text() == LOCAL_ID
    qtbot.waitUntil(lambda: dialog.fb_remote.findData(REMOTE_ID) >= 0, timeout=WAIT)
    dialog.fb_remote.setCurrentIndex(dialog.fb_remote.findData(REMOTE_ID))
    assert dialog.fb_not_loaded.isChecked()
    dialog.fb_save.click()
    store = hearth.core.settings_store
    qtbot.waitUntil(lambda: LOCAL_ID in store.load().fallback, timeout=WAIT)
    assert store.load().fallback[LOCAL_ID].remote_model == REMOTE_ID
    dialog.close()

    hearth.chat.regenerate.emit(hearth.chat.current.id, "", hearth.chat.params.sampling())  # type: ignore[union-attr]
    _wait_for_reply(qtbot, hearth, 2)
    reply = _messages(hearth)[-1]
    assert reply.status == "complete", reply.error
    assert reply.meta.get("answered_by") == REMOTE_ID


def test_local_only_hides_remote_models_and_stops_using_them(
    qtbot, make_app, isolated_home: Path, stub: Stub, no_keyring: None
) -> None:
    _home(isolated_home, stub.base_url)
    hearth = make_app()
    bar = hearth.chat.model_bar
    _use_remote(qtbot, hearth)
    page = hearth.settings_page
    page.editors["privacy.local_only"].set(True)
    page.save()
    qtbot.waitUntil(lambda: hearth.core.settings.privacy.local_only, timeout=WAIT)
    qtbot.waitUntil(lambda: bar.remote_ids() == [], timeout=WAIT)  # gone on saving
    rows = [bar.picker.itemText(i) for i in range(bar.picker.count())]
    assert rows == [LOCAL_ID]
    qtbot.waitUntil(lambda: hearth.bridge.chat_status.state is EngineState.EMPTY, timeout=WAIT)
    assert bar.state_label.text() == "No model loaded"
    # Turned off again: they come back.
    page.editors["privacy.local_only"].set(False)
    page.save()
    qtbot.waitUntil(lambda: not hearth.core.settings.privacy.local_only, timeout=WAIT)
    qtbot.waitUntil(lambda: bar.remote_ids() == [REMOTE_ID], timeout=WAIT)


def test_a_busy_local_model_falls_back_and_says_so(
    qtbot, make_app, isolated_home: Path, stub: Stub, no_keyring: None
) -> None:
    _home(isolated_home, stub.base_url)
    rule = FallbackRule(remote_model=REMOTE_ID, on_not_loaded=False, busy_in_flight=1)
    SettingsStore(DataPaths(isolated_home).settings_file).update(
        lambda s: s.fallback.__setitem__(LOCAL_ID, rule)
    )
    hearth = make_app()
    bar = hearth.chat.model_bar
    qtbot.waitUntil(lambda: bar.selected_model_id() == LOCAL_ID, timeout=WAIT)
    bar.load_button.click()
    qtbot.waitUntil(lambda: hearth.bridge.chat_status.state is EngineState.READY, timeout=WAIT)
    qtbot.waitUntil(lambda: bar.mode_label.text() != "", timeout=WAIT)
    # First a reply from the idle local model: no fallback, no notice.
    _send(qtbot, hearth, "Say something", 4)
    _wait_for_reply(qtbot, hearth, 2)
    local = _messages(hearth)[-1]
    assert local.status == "complete" and "route_notice" not in local.meta
    # Another client keeps the local engine busy (seconds of generation).
    engine = hearth.core.engines.get(LOCAL_ID)
    assert engine is not None
    long = GenerationRequest("a", SamplingParams(temperature=0, max_tokens=3000), grammar=LONG)
    busy = engine.submit(long)
    try:
        _send(qtbot, hearth, "And now?", 4)
        _wait_for_reply(qtbot, hearth, 4)
    finally:
        busy.cancel()
    reply = _messages(hearth)[-1]
    assert reply.status == "complete", reply.error
    notice = f"Answered by {REMOTE_ID}: the local engine is busy (1 requests running)."
    assert reply.meta.get("route_notice") == notice
    _wait_for_shown(qtbot, hearth, reply.id, notice)
    _wait_for_shown(qtbot, hearth, local.id, "tok/s")
    assert "Answered by" not in _reply_text(hearth, local.id)


@pytest.mark.qt_log_ignore("This plugin does not support raise")  # the dialog comes forward
def test_an_endpoint_turned_on_in_remote_engines_appears_in_the_picker(
    qtbot, make_app, isolated_home: Path, stub: Stub, no_keyring: None
) -> None:
    _home(isolated_home, stub.base_url)
    store = SettingsStore(DataPaths(isolated_home).settings_file)
    store.update(lambda s: setattr(s.remotes[0], "enabled", False))
    hearth = make_app()
    bar = hearth.chat.model_bar
    qtbot.waitUntil(lambda: bar.selected_model_id() == LOCAL_ID, timeout=WAIT)
    assert bar.remote_ids() == []  # turned off: not offered
    bar.remotes_button.click()
    dialog = hearth.remotes_dialog
    assert dialog is not None
    qtbot.waitUntil(lambda: dialog.endpoints.count() == 1, timeout=WAIT)
    dialog.endpoints.setCurrentRow(0)
    assert dialog.name.text() == "stub" and not dialog.enabled.isChecked()
    dialog.enabled.setChecked(True)
    dialog.save_button.click()  # the key stays as stored
    qtbot.waitUntil(lambda: bar.remote_ids() == [REMOTE_ID], timeout=WAIT)
    dialog.close()
