"""No keyring: the Discover page asks once before keeping the Hugging Face token in a file,
the answer is remembered in settings (never the token), and Settings shows and changes it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.ui.models_bridge import ModelsBridge
from app.ui.pages.discover import DiscoverPage
from app.ui.pages.settings import SettingsPage
from tests.helpers.hub_emulator import HubEmulator, hub
from tests.helpers.models_bridge import hub_models_bridge

__all__ = ["hub"]
TOKEN = "hf_ConsentTestToken_0123456789"


@pytest.fixture
def bridge(
    hub: HubEmulator, monkeypatch: pytest.MonkeyPatch, isolated_home: Path
) -> Iterator[ModelsBridge]:
    with hub_models_bridge(hub.endpoint, monkeypatch, start_downloads=False) as b:
        yield b


@pytest.fixture
def page(qtbot, bridge: ModelsBridge) -> DiscoverPage:  # type: ignore[no-untyped-def]
    p = DiscoverPage()
    qtbot.addWidget(p)
    p.connect_bridge(bridge)
    return p


def _enter_token(page: DiscoverPage) -> None:
    page._pending_token = TOKEN  # what the token dialog does on Save
    page.set_token.emit(TOKEN, False)


def _saved_choice(bridge: ModelsBridge) -> str:
    doc = json.loads(bridge.core.settings_store.path.read_text("utf-8"))
    assert TOKEN not in json.dumps(doc)  # the answer is stored, never the token
    return str(doc["privacy"]["secrets_file_fallback"])


def test_yes_is_remembered_and_not_asked_again(qtbot, page, bridge) -> None:  # type: ignore[no-untyped-def]
    asked: list[str] = []
    page.ask_consent = lambda reason: asked.append(reason) or True
    _enter_token(page)
    qtbot.waitUntil(lambda: page.token_button.text().endswith("✓"), timeout=10_000)
    assert len(asked) == 1 and _saved_choice(bridge) == "allow"

    page.clear_token.emit()
    qtbot.waitUntil(lambda: not page.token_button.text().endswith("✓"), timeout=10_000)
    _enter_token(page)  # a second time: no question
    qtbot.waitUntil(lambda: page.token_button.text().endswith("✓"), timeout=10_000)
    assert len(asked) == 1

    settings_page = SettingsPage(
        bridge.core.settings_store, bridge.core.settings_store.load(), bridge.core.paths.root, []
    )
    qtbot.addWidget(settings_page)
    editor = settings_page.editors["privacy.secrets_file_fallback"]
    assert editor.get() == "allow"
    editor.set("ask")  # the user changes their mind in Settings
    settings_page.save()
    qtbot.waitUntil(lambda: _saved_choice(bridge) == "ask", timeout=10_000)
    bridge.core.settings = bridge.core.settings_store.load()  # as the app does on "saved"
    page.clear_token.emit()
    qtbot.waitUntil(lambda: not page.token_button.text().endswith("✓"), timeout=10_000)
    _enter_token(page)
    qtbot.waitUntil(lambda: len(asked) == 2, timeout=10_000)


def test_no_is_remembered_and_explained(qtbot, page, bridge) -> None:  # type: ignore[no-untyped-def]
    asked: list[str] = []
    notices: list[str] = []
    bridge.notice.connect(notices.append)
    page.ask_consent = lambda reason: asked.append(reason) and False
    _enter_token(page)
    qtbot.waitUntil(lambda: any("not saved" in n for n in notices), timeout=10_000)
    assert len(asked) == 1 and _saved_choice(bridge) == "deny"
    assert not (bridge.core.paths.root / "secrets.json").exists()

    _enter_token(page)  # not asked again: a clear reason instead
    qtbot.waitUntil(lambda: "turned off" in page.notice.text(), timeout=10_000)
    assert len(asked) == 1 and "Settings → Privacy" in page.notice.text()
    assert not (bridge.core.paths.root / "secrets.json").exists()
