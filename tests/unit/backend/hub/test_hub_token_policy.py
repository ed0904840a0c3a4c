"""The Hugging Face token without a keyring follows the user's remembered answer."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest
from keyring.backends import fail

from app.backend.hub import ConsentNeeded, FileFallbackRefused, HubToken
from app.backend.settings import Settings, SettingsStore
from tests.unit.backend.test_secrets import MemoryKeyring

TOKEN = "hf_PolicyTestToken_0123456789"


@pytest.fixture(autouse=True)
def restore_keyring(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("HF_TOKEN", raising=False)
    original = keyring.get_keyring()
    yield
    keyring.set_keyring(original)


def test_ask_raises_consent_needed_and_writes_nothing(tmp_path: Path) -> None:
    keyring.set_keyring(fail.Keyring())
    token = HubToken(tmp_path / "secrets.json")
    with pytest.raises(ConsentNeeded) as info:
        token.set_with_policy(TOKEN, "ask")
    assert "keyring" in str(info.value).lower() and "Allow storing" not in str(info.value)
    assert not (tmp_path / "secrets.json").exists() and token.get() is None


def test_deny_refuses_clearly_and_writes_nothing(tmp_path: Path) -> None:
    keyring.set_keyring(fail.Keyring())
    token = HubToken(tmp_path / "secrets.json")
    with pytest.raises(FileFallbackRefused) as info:
        token.set_with_policy(TOKEN, "deny")
    assert "Settings → Privacy" in str(info.value) and TOKEN not in str(info.value)
    assert not (tmp_path / "secrets.json").exists()


def test_allow_keeps_it_in_a_private_file(tmp_path: Path) -> None:
    keyring.set_keyring(fail.Keyring())
    token = HubToken(tmp_path / "secrets.json")
    token.set_with_policy(TOKEN, "allow")
    assert token.get() == TOKEN and token.status().source == "file"
    assert oct((tmp_path / "secrets.json").stat().st_mode & 0o777) == "0o600"


@pytest.mark.parametrize("policy", ["ask", "deny", "allow"])
def test_a_working_keyring_is_used_whatever_the_answer(tmp_path: Path, policy: str) -> None:
    memory = MemoryKeyring()
    keyring.set_keyring(memory)
    token = HubToken(tmp_path / "secrets.json")
    token.set_with_policy(TOKEN, policy)  # type: ignore[arg-type]
    assert memory.data[("hearth", "huggingface_token")] == TOKEN
    assert not (tmp_path / "secrets.json").exists()


def test_the_answer_is_a_setting_with_ask_by_default(tmp_path: Path) -> None:
    store = SettingsStore(tmp_path / "settings.json")
    assert Settings().privacy.secrets_file_fallback == "ask"

    def deny(s: Settings) -> None:
        s.privacy.secrets_file_fallback = "deny"

    store.update(deny)
    saved = json.loads((tmp_path / "settings.json").read_text())
    assert saved["privacy"]["secrets_file_fallback"] == "deny"
    assert store.load().privacy.secrets_file_fallback == "deny"
    assert TOKEN not in (tmp_path / "settings.json").read_text()
