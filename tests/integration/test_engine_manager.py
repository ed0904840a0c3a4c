"""The engine manager: planned loads, single-flight loading, idle unload, crash recovery."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

import pytest

from app.backend.engine.manager import EngineManager
from app.backend.engine.types import EngineState, Finished, GenerationRequest, LoadParams
from app.backend.engine.types import SamplingParams as SP
from app.backend.library import ModelLibrary
from tests.helpers.gguf_factory import write_tiny_llama

pytest.importorskip("llama_cpp")


@pytest.fixture
def library(tmp_path: Path) -> ModelLibrary:
    write_tiny_llama(tmp_path / "models" / "acme" / "tiny" / "tiny-F32.gguf", n_ctx_train=512)
    return ModelLibrary([tmp_path / "models"])


@pytest.fixture
def manager(tmp_path: Path):
    remembered: dict[str, dict] = {}
    manager = EngineManager(
        tmp_path / "logs", lambda model: (LoadParams(n_ctx=4096), remembered.get(model.id))
    )
    manager.remembered = remembered  # type: ignore[attr-defined]
    yield manager
    manager.close()


def test_plan_caps_context_at_the_trained_length_and_respects_overrides(
    manager: EngineManager, library: ModelLibrary
) -> None:
    model = library.resolve("acme/tiny")
    params, plan = manager.plan(model)
    assert params.n_ctx == 512  # default 4096, trained 512
    assert params.n_gpu_layers == 0  # no GPU here
    assert plan.verdict == "cpu_only"
    params, _ = manager.plan(model, {"n_ctx": 256})
    assert params.n_ctx == 256


def test_concurrent_first_requests_cause_one_load(
    manager: EngineManager, library: ModelLibrary
) -> None:
    model = library.resolve("acme/tiny")
    clients = []
    threads = [
        threading.Thread(target=lambda: clients.append(manager.load(model))) for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(clients) == 4
    assert len({id(c) for c in clients}) == 1
    assert len(manager.loaded()) == 1


def test_an_engine_is_registered_before_its_ready_is_announced(
    manager: EngineManager, library: ModelLibrary
) -> None:
    model = library.resolve("acme/tiny")
    found_on_ready: list[bool] = []

    def listener(model_id: str, status) -> None:
        if status.state is EngineState.READY:
            found_on_ready.append(manager.get(model_id) is not None)

    manager.add_listener(listener)
    client = manager.load(model)
    assert found_on_ready == [True]
    assert manager.get(model.id) is client


def test_loaded_model_is_reused_and_answers(manager: EngineManager, library: ModelLibrary) -> None:
    model = library.resolve("acme/tiny")
    first = manager.load(model)
    assert manager.load(model) is first
    _, final = first.submit(GenerationRequest("hi", SP(temperature=0, max_tokens=4))).collect(60)
    assert isinstance(final, Finished)


def test_idle_models_are_unloaded(manager: EngineManager, library: ModelLibrary) -> None:
    model = library.resolve("acme/tiny")
    client = manager.load(model)
    pid = client.engine_pid
    assert manager.unload_idle(3600) == []
    assert manager.unload_idle(0) == [model.id]
    assert manager.get(model.id) is None
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # type: ignore[arg-type]


def test_a_crashed_engine_is_forgotten_and_loads_again(
    manager: EngineManager, library: ModelLibrary
) -> None:
    model = library.resolve("acme/tiny")
    seen: list[EngineState] = []
    manager.add_listener(lambda model_id, status: seen.append(status.state))
    client = manager.load(model)
    os.kill(client.engine_pid, signal.SIGKILL)  # type: ignore[arg-type]
    from app.backend.engine.client import wait_until

    assert wait_until(lambda: manager.get(model.id) is None, 10)
    assert EngineState.ERROR in seen
    again = manager.load(model)
    assert again is not client
    assert again.status.state is EngineState.READY
