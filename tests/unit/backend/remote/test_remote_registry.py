"""Endpoints in settings, keys only in the keyring; remote ids; parallel listing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import keyring
import keyring.errors
import pytest
from keyring.backend import KeyringBackend

from app.backend.remote import (
    RemoteError,
    RemoteRegistry,
    check_endpoint,
    parse_remote_id,
    remote_model_id,
    sends_key_in_clear,
)
from app.backend.secrets import SecretBackendUnavailable, SecretStore
from app.backend.settings import SettingsStore

KEY = "sk-live-NeverInSettings-42"


class MemoryKeyring(KeyringBackend):
    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.data: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.data.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.data[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if (service, username) not in self.data:
            raise keyring.errors.PasswordDeleteError("not found")
        del self.data[(service, username)]


@pytest.fixture
def memory() -> Iterator[MemoryKeyring]:
    original = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(original)


def _handler(request: httpx.Request) -> httpx.Response:
    if request.url.host == "down.test":
        raise httpx.ConnectError("refused", request=request)
    auth = request.headers.get("authorization")
    if request.url.host == "cloud.test" and auth != f"Bearer {KEY}":
        return httpx.Response(401, json={"error": {"message": "bad key"}})
    return httpx.Response(200, json={"data": [{"id": f"{request.url.host}-model"}]})


def _registry(tmp_path: Path) -> RemoteRegistry:
    store = SettingsStore(tmp_path / "settings.json")
    secrets = SecretStore(fallback_path=tmp_path / "secrets.json")
    return RemoteRegistry(store, secrets, transport=httpx.MockTransport(_handler))


def test_ids_round_trip() -> None:
    rid = remote_model_id("lab", "meta-llama/Llama-3-8B")
    assert rid == "remote:lab/meta-llama/Llama-3-8B"
    assert parse_remote_id(rid) == ("lab", "meta-llama/Llama-3-8B")
    assert parse_remote_id("google/gemma-3-270m/Q4_K_M") is None
    assert parse_remote_id("remote:lab") is None


@pytest.mark.parametrize(
    ("name", "url", "match"),
    [
        ("bad name", "http://x/v1", "Name the endpoint"),
        ("ok", "ftp://x/v1", "http"),
        ("ok", "http://user:pw@x/v1", "key field"),
        ("ok", "http://x/v1?key=1", "query"),
    ],
)
def test_endpoint_validation(name: str, url: str, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        check_endpoint(name, url)


def test_clear_text_warning() -> None:
    assert sends_key_in_clear("http://gpu-box:8000/v1")
    assert not sends_key_in_clear("http://127.0.0.1:8000/v1")
    assert not sends_key_in_clear("https://api.example.com/v1")


def test_key_goes_to_the_keyring_never_the_settings(tmp_path: Path, memory: MemoryKeyring) -> None:
    reg = _registry(tmp_path)
    reg.save("cloud", "https://cloud.test/v1/", api_key=KEY)
    reg.save("lan", "http://lan.test/v1")
    text = (tmp_path / "settings.json").read_text()
    assert KEY not in text
    assert json.loads(text)["remotes"][0] == {
        "name": "cloud",
        "base_url": "https://cloud.test/v1",
        "enabled": True,
    }
    assert memory.data == {("hearth", "remote-endpoint:cloud"): KEY}
    assert reg.has_key("cloud") and not reg.has_key("lan")
    with pytest.raises(ValueError, match="already exists"):
        reg.save("cloud", "https://cloud.test/v1")
    # Renaming moves the key; removing forgets it.
    reg.save("cloud2", "https://cloud.test/v1", replace="cloud")
    assert memory.data == {("hearth", "remote-endpoint:cloud2"): KEY}
    assert [e.name for e in reg.endpoints()] == ["cloud2", "lan"]
    reg.remove("cloud2")
    assert memory.data == {} and [e.name for e in reg.endpoints()] == ["lan"]


def test_without_a_keyring_the_file_fallback_needs_consent(tmp_path: Path) -> None:
    from keyring.backends import fail

    original = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    try:
        reg = _registry(tmp_path)
        with pytest.raises(SecretBackendUnavailable):
            reg.save("cloud", "https://cloud.test/v1", api_key=KEY)
        assert reg.endpoints() == []  # nothing half-saved
        reg.save("cloud", "https://cloud.test/v1", api_key=KEY, allow_file=True)
        assert reg.has_key("cloud") and KEY not in (tmp_path / "settings.json").read_text()
    finally:
        keyring.set_keyring(original)


def test_listing_all_endpoints_reports_each_failure(tmp_path: Path, memory: MemoryKeyring) -> None:
    reg = _registry(tmp_path)
    reg.save("cloud", "https://cloud.test/v1", api_key=KEY)
    reg.save("lan", "http://lan.test/v1")
    reg.save("down", "http://down.test/v1")
    reg.save("off", "http://off.test/v1", enabled=False)
    listing = reg.list_all()
    assert sorted(m.id for m in listing.models) == [
        "remote:cloud/cloud.test-model",
        "remote:lan/lan.test-model",
    ]
    assert set(listing.errors) == {"down"} and "Could not reach 'down'" in listing.errors["down"]
    assert reg.cached() is listing
    with pytest.raises(RemoteError, match="bad key"):
        reg.test("try", "https://cloud.test/v1", "wrong")
    assert reg.test("try", "https://cloud.test/v1", KEY) == ["cloud.test-model"]
    engine = reg.engine("remote:cloud/cloud.test-model")
    assert engine.headers() == {"Authorization": f"Bearer {KEY}"}
    with pytest.raises(RemoteError, match="turned off"):
        reg.engine("remote:off/x")
    with pytest.raises(RemoteError, match="no remote endpoint"):
        reg.engine("remote:nope/x")
    reg.close()
