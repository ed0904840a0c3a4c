"""Remote OpenAI-compatible models appear beside local ones in Hearth's API and answer
through it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import keyring
import openai
import pytest
from keyring.backends import fail

from app.backend.remote import RemoteRegistry
from app.backend.secrets import SecretStore
from app.backend.settings import SettingsStore
from tests.helpers.api_server import TINY, start_api, tiny_home
from tests.helpers.gguf_factory import write_tiny_llama
from tests.integration.test_remote_engine import KEY, REMOTE_ID, Stub, start_stub

pytest.importorskip("llama_cpp")


@pytest.fixture
def no_keyring() -> Iterator[None]:
    original = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())  # headless: the consented private file holds the key
    yield
    keyring.set_keyring(original)


@pytest.fixture
def remote(tmp_path: Path) -> Iterator[Stub]:
    model = write_tiny_llama(tmp_path / "remote-model" / "tiny-F32.gguf", n_ctx_train=4096)
    server = start_stub(tmp_path, model)
    yield server
    server.kill()


def test_remote_models_are_listed_and_answer_through_the_api(
    tmp_path: Path, remote: Stub, no_keyring: None
) -> None:
    root = tiny_home(tmp_path / "home")
    registry = RemoteRegistry(
        SettingsStore(root / "settings.json"), SecretStore(fallback_path=root / "secrets.json")
    )
    registry.save("stub", remote.base_url, api_key=KEY, allow_file=True)
    registry.close()
    api = start_api(root)
    try:
        client = openai.OpenAI(base_url=f"{api.url}/v1", api_key="unused", max_retries=0)
        ids = [m.id for m in client.models.list()]
        assert ids == [TINY, REMOTE_ID]
        reply = client.chat.completions.create(
            model=REMOTE_ID,
            messages=[{"role": "user", "content": "Say something"}],
            max_tokens=8,
            temperature=0,
        )
        assert reply.choices[0].message.content
        assert reply.usage is not None and 1 <= reply.usage.completion_tokens <= 8
        streamed = client.chat.completions.create(
            model=REMOTE_ID,
            messages=[{"role": "user", "content": "Say something"}],
            max_tokens=8,
            temperature=0,
            stream=True,
        )
        text = "".join(c.choices[0].delta.content or "" for c in streamed if c.choices)
        assert text == reply.choices[0].message.content
        # The prompt endpoint forwards to the remote's /completions (see test_api_remote_routes).
        done = client.completions.create(model=REMOTE_ID, prompt="x", max_tokens=2)
        assert done.model == REMOTE_ID and done.usage is not None
        assert 1 <= done.usage.completion_tokens <= 2
        with pytest.raises(openai.NotFoundError):
            client.chat.completions.create(
                model="remote:nowhere/x", messages=[{"role": "user", "content": "hi"}]
            )
    finally:
        api.stop()


def test_local_only_hides_and_refuses_remote_models(
    tmp_path: Path, remote: Stub, no_keyring: None
) -> None:
    root = tiny_home(tmp_path / "home")
    store = SettingsStore(root / "settings.json")
    registry = RemoteRegistry(store, SecretStore(fallback_path=root / "secrets.json"))
    registry.save("stub", remote.base_url, api_key=KEY, allow_file=True)
    registry.close()
    store.update(lambda s: setattr(s.privacy, "local_only", True))
    api = start_api(root)
    try:
        client = openai.OpenAI(base_url=f"{api.url}/v1", api_key="unused", max_retries=0)
        assert [m.id for m in client.models.list()] == [TINY]
        with pytest.raises(openai.PermissionDeniedError, match="Local only"):
            client.chat.completions.create(
                model=REMOTE_ID, messages=[{"role": "user", "content": "hi"}], max_tokens=2
            )
    finally:
        api.stop()
