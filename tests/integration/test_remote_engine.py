"""Remote engines against a real OpenAI-compatible server on loopback, in a second process.

The server (tests/helpers/openai_stub_server.py) streams real generations from the tiny
model. Covered: listing and streaming through the registry, a wrong key, cancel, the remote
going away mid-stream, and fallback from a real local engine (not loaded, busy, crashed).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import keyring
import pytest
from keyring.backends import fail

from app.backend.engine.client import EngineClient
from app.backend.engine.types import (
    Failed,
    Finished,
    GenerationRequest,
    LoadParams,
    SamplingParams,
    TokenChunk,
)
from app.backend.remote import ChatRequest, FallbackRouter, RemoteRegistry, RouteDecision
from app.backend.secrets import SecretStore
from app.backend.settings import SettingsStore
from app.backend.settings.schema import FallbackRule
from app.backend.usage import UsageRecorder
from tests.helpers.gguf_factory import write_tiny_llama
from tests.helpers.openai_stub_server import MODEL_NAME

pytest.importorskip("llama_cpp")

ROOT = Path(__file__).resolve().parents[2]
KEY = "sk-stub-Secret-987"
REMOTE_ID = f"remote:stub/{MODEL_NAME}"
# Exactly 3000 letters: seconds of generation on the tiny model, with no early end-of-text.
LONG = "root ::= " + " ".join(["[a-z]"] * 3000)


@dataclass
class Stub:
    process: subprocess.Popen[bytes]
    base_url: str

    def kill(self) -> None:
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(10)


def start_stub(tmp_path: Path, model: Path, pace_ms: float = 0.0) -> Stub:
    port_file = tmp_path / "stub" / "port.txt"
    port_file.parent.mkdir(parents=True, exist_ok=True)
    cmd = [
        sys.executable, "-m", "tests.helpers.openai_stub_server", "--model", str(model),
        "--port-file", str(port_file), "--key", KEY, "--pace-ms", str(pace_ms),
    ]  # fmt: skip
    log = open(tmp_path / "stub" / "stderr.txt", "wb")  # noqa: SIM115 - kept for the process
    process = subprocess.Popen(cmd, cwd=ROOT, stdin=subprocess.PIPE, stdout=log, stderr=log)
    deadline = time.monotonic() + 90
    while not port_file.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(
                f"stub server did not start: {(tmp_path / 'stub' / 'stderr.txt').read_text()}"
            )
        time.sleep(0.05)
    return Stub(process, f"http://127.0.0.1:{port_file.read_text()}/v1")


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_llama(tmp_path_factory.mktemp("tiny") / "tiny-F32.gguf", n_ctx_train=4096)


@pytest.fixture
def stub(tmp_path: Path, model: Path) -> Iterator[Stub]:
    server = start_stub(tmp_path, model, pace_ms=20)
    yield server
    server.kill()


@pytest.fixture
def registry(tmp_path: Path, stub: Stub) -> Iterator[RemoteRegistry]:
    original = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())  # no keyring here: the consented private file
    reg = RemoteRegistry(
        SettingsStore(tmp_path / "settings.json"), SecretStore(fallback_path=tmp_path / "s.json")
    )
    reg.save("stub", stub.base_url, api_key=KEY, allow_file=True)
    yield reg
    reg.close()
    keyring.set_keyring(original)


def _chat(text: str = "Say something", max_tokens: int = 12) -> ChatRequest:
    return ChatRequest(
        [{"role": "user", "content": text}], SamplingParams(temperature=0, max_tokens=max_tokens)
    )


# ------------------------------------------------------------------ streaming
def test_lists_and_streams_a_real_generation(registry: RemoteRegistry) -> None:
    listing = registry.list_all()
    assert [m.id for m in listing.models] == [REMOTE_ID] and not listing.errors
    engine = registry.engine(REMOTE_ID)
    chunks: list[TokenChunk] = []
    handle = engine.submit(_chat(max_tokens=12))
    final = None
    for event in handle.events(timeout=60):
        if isinstance(event, TokenChunk):
            chunks.append(event)
        else:
            final = event
    assert isinstance(final, Finished), final
    assert chunks and "".join(c.text for c in chunks)
    # Counts come from the server's usage chunk: the real engine's prompt and reply tokens.
    assert final.stats.prompt_tokens > 5
    assert 1 <= final.stats.completion_tokens <= 12
    # The prompt path (/completions) too.
    text, done = engine.submit(GenerationRequest("Once", SamplingParams(max_tokens=5))).collect(60)
    assert isinstance(done, Finished) and text


def test_a_wrong_key_is_refused_with_the_servers_message(
    registry: RemoteRegistry, stub: Stub
) -> None:
    registry.save("stub", stub.base_url, api_key="wrong", allow_file=True, replace="stub")
    assert "Invalid API key" in registry.list_all().errors["stub"]
    _, final = registry.engine(REMOTE_ID).submit(_chat()).collect(timeout=30)
    assert isinstance(final, Failed) and "Invalid API key" in final.message
    assert "wrong" not in final.message


def test_cancel_closes_the_stream_and_the_server_carries_on(registry: RemoteRegistry) -> None:
    engine = registry.engine(REMOTE_ID)
    handle = engine.submit(_chat(max_tokens=400))
    events = handle.events(timeout=60)
    assert isinstance(next(events), TokenChunk)
    started = time.monotonic()
    handle.cancel()
    final = [e for e in events if not isinstance(e, TokenChunk)][-1]
    assert isinstance(final, Finished) and final.stop_reason == "cancelled"
    assert time.monotonic() - started < 5
    _, again = engine.submit(_chat(max_tokens=3)).collect(timeout=60)
    assert isinstance(again, Finished)


def test_remote_going_away_mid_stream_fails_cleanly(registry: RemoteRegistry, stub: Stub) -> None:
    handle = registry.engine(REMOTE_ID).submit(_chat(max_tokens=400))
    received: list[str] = []
    final = None
    for event in handle.events(timeout=60):
        if isinstance(event, TokenChunk):
            received.append(event.text)
            if len(received) == 3:
                stub.kill()  # SIGKILL mid-reply: the chunked body never ends
        else:
            final = event
    assert isinstance(final, Failed) and final.engine_crashed, final
    assert "went away mid-reply" in final.message
    assert len(received) >= 3
    # Afterwards the endpoint is simply unreachable.
    _, after = registry.engine(REMOTE_ID).submit(_chat()).collect(timeout=30)
    assert isinstance(after, Failed) and "Could not reach" in after.message


# ------------------------------------------------------------------ fallback
@pytest.fixture
def local(tmp_path: Path, model: Path) -> Iterator[EngineClient]:
    engine = EngineClient(tmp_path / "local-logs")
    yield engine
    engine.close()


def _router(
    local: EngineClient, registry: RemoteRegistry, rule: FallbackRule, usage: UsageRecorder
) -> FallbackRouter:
    return FallbackRouter(lambda _m: local, registry.engine, lambda _m: rule, usage)


def test_fallback_when_the_local_model_is_not_loaded(
    tmp_path: Path, local: EngineClient, registry: RemoteRegistry
) -> None:
    usage = UsageRecorder.open(tmp_path / "usage.db")
    router = _router(local, registry, FallbackRule(remote_model=REMOTE_ID), usage)
    routes: list[RouteDecision] = []
    handle = router.submit(
        "tiny/local/F32",
        GenerationRequest("User: hi\nAssistant:", SamplingParams(temperature=0, max_tokens=6)),
        messages=[{"role": "user", "content": "hi"}],
        on_route=routes.append,
        source="api:ci",
    )
    text, final = handle.collect(timeout=60)
    assert isinstance(final, Finished) and text
    assert routes[-1].engine == "remote:stub" and "not loaded" in routes[-1].notice()
    [record] = usage.store.records()
    assert (record.engine, record.model_id, record.source) == ("remote:stub", REMOTE_ID, "api:ci")
    assert record.completion_tokens == final.stats.completion_tokens and record.energy_j is None
    usage.close()


def test_fallback_when_busy_and_when_the_local_engine_crashes(
    tmp_path: Path, local: EngineClient, registry: RemoteRegistry, model: Path
) -> None:
    local.load(model, LoadParams(n_ctx=4096, n_parallel=1))
    usage = UsageRecorder.open(tmp_path / "usage.db")
    long = GenerationRequest("a", SamplingParams(temperature=0, max_tokens=3000), grammar=LONG)
    short = GenerationRequest("b", SamplingParams(temperature=0, max_tokens=6))

    # Busy: one long request running locally, the threshold is 1 -> the next goes remote.
    busy = _router(local, registry, FallbackRule(remote_model=REMOTE_ID, busy_in_flight=1), usage)
    first = busy.submit("tiny", long)
    events = first.events(timeout=60)
    assert isinstance(next(events), TokenChunk)
    second = busy.submit("tiny", short)
    text, final = second.collect(timeout=60)
    assert isinstance(final, Finished) and text
    assert second.route is not None and "busy (1 requests running)" in second.route.reason

    # Crash: a request queued behind the long one (n_parallel=1) has no token yet when the
    # engine process dies, so it moves to the remote; the long one is reported as failed.
    crash = _router(local, registry, FallbackRule(remote_model=REMOTE_ID), usage)
    routes: list[RouteDecision] = []
    queued = crash.submit("tiny", short, on_route=routes.append)
    time.sleep(0.2)
    assert local.engine_pid is not None
    os.kill(local.engine_pid, signal.SIGKILL)
    text, final = queued.collect(timeout=60)
    assert isinstance(final, Finished) and text, final
    assert [r.engine for r in routes] == ["local", "remote:stub"]
    assert "the local engine failed" in routes[-1].reason
    long_final = [e for e in events if not isinstance(e, TokenChunk)][-1]
    assert isinstance(long_final, Failed) and long_final.engine_crashed
    engines = sorted(r.engine for r in usage.store.records())
    assert engines == ["local", "remote:stub", "remote:stub"]
    usage.close()
