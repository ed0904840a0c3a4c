"""SecretStore against real keyring backends: in-memory, hanging, and none available."""

from __future__ import annotations

import json
import logging
import os
import stat
import threading
import time
import traceback
from collections.abc import Iterator
from pathlib import Path

import keyring
import keyring.errors
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import fail

from app.backend.paths import DataPaths
from app.backend.secrets import SecretBackendUnavailable, SecretStore
from app.backend.settings import Settings, SettingsStore

SECRET = "hf_SuperSecretValue_1234567890"


class MemoryKeyring(KeyringBackend):
    priority = 1

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


class HangingKeyring(MemoryKeyring):
    """Like a Secret Service stuck behind an invisible unlock prompt."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()

    def get_password(self, service: str, username: str) -> str | None:
        self.release.wait(30)
        return super().get_password(service, username)

    def set_password(self, service: str, username: str, password: str) -> None:
        self.release.wait(30)
        super().set_password(service, username, password)


class LeakyKeyring(MemoryKeyring):
    """A buggy backend whose errors echo what it was given."""

    def set_password(self, service: str, username: str, password: str) -> None:
        raise keyring.errors.PasswordSetError(f"could not store {password!r} for {username}")

    def get_password(self, service: str, username: str) -> str | None:
        raise keyring.errors.KeyringLocked(f"locked, but btw the secret is {SECRET}")


@pytest.fixture(autouse=True)
def restore_keyring() -> Iterator[None]:
    original = keyring.get_keyring()
    yield
    keyring.set_keyring(original)


@pytest.fixture
def fallback(tmp_path: Path) -> Path:
    return tmp_path / "secrets.json"


@pytest.fixture
def memory() -> MemoryKeyring:
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    return backend


def test_keyring_round_trip(memory: MemoryKeyring, fallback: Path) -> None:
    store = SecretStore(fallback_path=fallback)
    status = store.backend_status()
    assert status.usable and status.reason == ""
    assert store.get("hf_token") is None
    store.set("hf_token", SECRET)
    assert memory.data == {("hearth", "hf_token"): SECRET}
    assert store.get("hf_token") == SECRET
    store.delete("hf_token")
    store.delete("hf_token")  # missing is fine
    assert store.get("hf_token") is None
    assert not fallback.exists()  # the file is never used when a keyring works


def test_services_are_separate(memory: MemoryKeyring, fallback: Path) -> None:
    SecretStore("hearth", fallback_path=fallback).set("t", "a")
    SecretStore("other", fallback_path=fallback).set("t", "b")
    assert SecretStore("hearth", fallback_path=fallback).get("t") == "a"


def test_no_backend_refuses_without_consent(fallback: Path) -> None:
    keyring.set_keyring(fail.Keyring())
    store = SecretStore(fallback_path=fallback)
    status = store.backend_status()
    assert not status.usable and "No system keyring" in status.reason
    assert store.get("hf_token") is None
    with pytest.raises(SecretBackendUnavailable, match="Allow storing secrets in a private file"):
        store.set("hf_token", SECRET)
    assert not fallback.exists()


def test_empty_chainer_is_unusable(fallback: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from keyring.backends import chainer

    monkeypatch.setattr(keyring.backend, "get_all_keyring", lambda: [])
    keyring.set_keyring(chainer.ChainerBackend())
    assert not SecretStore(fallback_path=fallback).backend_status().usable


def test_file_fallback_with_consent(fallback: Path) -> None:
    keyring.set_keyring(fail.Keyring())
    store = SecretStore(fallback_path=fallback)
    store.allow_file_fallback(True)
    store.set("hf_token", SECRET)
    store.set("openai", "sk-other")
    assert stat.S_IMODE(fallback.stat().st_mode) == 0o600
    assert store.get("hf_token") == SECRET
    # A fresh store (next app start) reads it back even before consent is asked again.
    assert SecretStore(fallback_path=fallback).get("openai") == "sk-other"
    store.delete("hf_token")
    assert store.get("hf_token") is None and store.get("openai") == "sk-other"
    store.delete("openai")
    assert not fallback.exists()  # nothing left: no file left behind
    assert [p.name for p in fallback.parent.iterdir()] == []  # no temp files either


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_group_readable_file_is_repaired(fallback: Path, caplog: pytest.LogCaptureFixture) -> None:
    keyring.set_keyring(fail.Keyring())
    store = SecretStore(fallback_path=fallback)
    store.allow_file_fallback(True)
    store.set("hf_token", SECRET)
    os.chmod(fallback, 0o644)
    with caplog.at_level(logging.WARNING):
        assert store.get("hf_token") == SECRET
    assert stat.S_IMODE(fallback.stat().st_mode) == 0o600
    assert "accessible to other users" in caplog.text
    assert SECRET not in caplog.text


@pytest.mark.skipif(os.name != "posix", reason="POSIX symlinks")
def test_symlinked_file_refused(fallback: Path, tmp_path: Path) -> None:
    keyring.set_keyring(fail.Keyring())
    target = tmp_path / "elsewhere.json"
    target.write_text(json.dumps({"version": 1, "services": {"hearth": {"t": "x"}}}))
    fallback.symlink_to(target)
    with pytest.raises(SecretBackendUnavailable):
        SecretStore(fallback_path=fallback).get("t")


def test_damaged_file_is_not_overwritten(fallback: Path) -> None:
    keyring.set_keyring(fail.Keyring())
    fd = os.open(fallback, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.write(fd, b"{ half a json")
    os.close(fd)
    store = SecretStore(fallback_path=fallback)
    store.allow_file_fallback(True)
    with pytest.raises(SecretBackendUnavailable, match="damaged"):
        store.set("t", SECRET)
    assert fallback.read_bytes() == b"{ half a json"


def test_keyring_set_removes_stale_file_copy(memory: MemoryKeyring, fallback: Path) -> None:
    keyring.set_keyring(fail.Keyring())
    store = SecretStore(fallback_path=fallback)
    store.allow_file_fallback(True)
    store.set("hf_token", "old")
    keyring.set_keyring(memory)  # e.g. the user installed a keyring later
    assert store.get("hf_token") == "old"  # still found in the file
    store.set("hf_token", SECRET)
    assert store.get("hf_token") == SECRET
    assert not fallback.exists()


def test_hanging_backend_times_out(fallback: Path) -> None:
    backend = HangingKeyring()
    keyring.set_keyring(backend)
    store = SecretStore(fallback_path=fallback, timeout_s=0.2)
    try:
        t0 = time.monotonic()
        with pytest.raises(SecretBackendUnavailable, match=r"did not respond within 0\.2 s"):
            store.get("hf_token")
        assert time.monotonic() - t0 < 2
        # While the first call is stuck, later calls fail fast instead of piling up threads.
        t0 = time.monotonic()
        with pytest.raises(SecretBackendUnavailable, match="still not responding"):
            store.set("hf_token", SECRET)
        assert time.monotonic() - t0 < 0.1
        assert not store.backend_status().usable
    finally:
        backend.release.set()
    # Once the backend recovers, the store works again.
    deadline = time.monotonic() + 5
    while store._stuck is not None and store._stuck.is_alive() and time.monotonic() < deadline:
        time.sleep(0.01)
    store.set("hf_token", SECRET)
    assert store.get("hf_token") == SECRET


def test_secret_never_leaks(fallback: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    errors: list[BaseException] = []

    keyring.set_keyring(LeakyKeyring())
    store = SecretStore(fallback_path=fallback, timeout_s=0.5)
    for op in (lambda: store.set("hf_token", SECRET), lambda: store.get("hf_token")):
        with pytest.raises(SecretBackendUnavailable) as info:
            op()
        errors.append(info.value)
    assert "locked" in str(errors[1])

    hanging = HangingKeyring()
    keyring.set_keyring(hanging)
    store2 = SecretStore(fallback_path=fallback, timeout_s=0.1)
    with pytest.raises(SecretBackendUnavailable) as info:
        store2.set("hf_token", SECRET)
    errors.append(info.value)
    hanging.release.set()

    keyring.set_keyring(fail.Keyring())
    store3 = SecretStore(fallback_path=fallback)
    with pytest.raises(SecretBackendUnavailable) as info:
        store3.set("hf_token", SECRET)
    errors.append(info.value)
    store3.allow_file_fallback(True)
    store3.set("hf_token", SECRET)
    os.chmod(fallback, 0o640)
    store3.get("hf_token")

    for exc in errors:
        text = "".join(traceback.format_exception(exc))
        assert SECRET not in text and SECRET not in repr(exc)
    assert SECRET not in caplog.text
    assert SECRET not in repr(store3) and SECRET not in repr(store3.backend_status())


def test_secrets_never_reach_settings(fallback: Path, tmp_path: Path) -> None:
    memory = MemoryKeyring()
    keyring.set_keyring(memory)
    paths = DataPaths(tmp_path)
    SecretStore(fallback_path=fallback).set("hf_token", SECRET)
    settings_store = SettingsStore(paths.settings_file)
    settings_store.save(Settings())
    settings_store.update(lambda s: None)
    assert SECRET not in paths.settings_file.read_text()
    assert paths.settings_file != fallback


def test_bad_names_rejected(memory: MemoryKeyring, fallback: Path) -> None:
    store = SecretStore(fallback_path=fallback)
    with pytest.raises(ValueError):
        store.set("", SECRET)
    with pytest.raises(TypeError):
        store.set("t", 123)  # type: ignore[arg-type]
