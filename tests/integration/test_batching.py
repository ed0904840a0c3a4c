"""Continuous batching in the real engine process: many requests decoded together."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from app.backend.engine.client import EngineClient
from app.backend.engine.types import Finished, GenerationRequest, LoadParams, SamplingParams

pytest.importorskip("llama_cpp")


@pytest.fixture
def engine(tmp_path: Path):
    client = EngineClient(tmp_path / "logs")
    yield client
    client.close()


def _greedy(max_tokens: int, **extra) -> SamplingParams:
    return SamplingParams(temperature=0.0, max_tokens=max_tokens, repeat_penalty=1.0, **extra)


def _mean_batch(log_dir: Path) -> float:
    lines = re.findall(r"mean_sequences_per_step=([0-9.]+)", (log_dir / "engine.log").read_text())
    return float(lines[-1])


def test_concurrent_requests_share_decode_steps(
    engine: EngineClient, tiny_model: Path, tmp_path: Path
) -> None:
    info = engine.load(tiny_model, LoadParams(n_ctx=256, n_parallel=4))
    assert info.n_parallel == 4
    # Long enough (~0.1 s) that the six requests overlap even when a busy machine spreads
    # their arrival: at 30 tokens the tiny model finished a request in ~3 ms, and on a
    # loaded CI the first ones ran alone (mean 2.0). Ideal here: 3.0 (4 slots, then 2).
    handles = [engine.submit(GenerationRequest(f"q{i}", _greedy(200))) for i in range(6)]
    for handle in handles:
        _, final = handle.collect(60)
        assert isinstance(final, Finished)
        assert final.stats.completion_tokens in range(1, 201)
    assert _mean_batch(tmp_path / "logs") > 2.0


def test_each_stream_of_a_batch_matches_the_request_alone(
    engine: EngineClient, tiny_model: Path
) -> None:
    """On an f32 model batched and single decodes agree; quantized models may differ in the
    last bits (see bench/batching.py for how often)."""
    engine.load(tiny_model, LoadParams(n_ctx=256, n_parallel=4))
    prompts = ["alpha", "beta gamma", "delta", "epsilon zeta eta"]
    alone = [engine.submit(GenerationRequest(p, _greedy(25))).collect(60)[0] for p in prompts]
    handles = [engine.submit(GenerationRequest(p, _greedy(25))) for p in prompts]
    together = [h.collect(60)[0] for h in handles]
    assert together == alone


def test_cancelling_one_stream_leaves_the_others_running(
    engine: EngineClient, tiny_model: Path
) -> None:
    engine.load(tiny_model, LoadParams(n_ctx=512, n_parallel=3))
    long = _greedy(100_000)
    handles = [engine.submit(GenerationRequest(f"s{i}", long)) for i in range(3)]
    for handle in handles:
        next(handle.events(timeout=30))
    started = time.monotonic()
    handles[1].cancel()
    assert handles[1].done.wait(5)
    assert time.monotonic() - started < 2.0
    assert isinstance(handles[1].result, Finished)
    assert handles[1].result.stop_reason == "cancelled"
    assert not handles[0].done.is_set() and not handles[2].done.is_set()
    for handle in (handles[0], handles[2]):
        handle.cancel()
        _, final = handle.collect(30)
        assert isinstance(final, Finished)


def test_requests_beyond_n_parallel_queue_and_complete(
    engine: EngineClient, tiny_model: Path
) -> None:
    engine.load(tiny_model, LoadParams(n_ctx=256, n_parallel=2))
    handles = [engine.submit(GenerationRequest(f"q{i}", _greedy(8))) for i in range(7)]
    results = [h.collect(60)[1] for h in handles]
    assert all(isinstance(r, Finished) for r in results)


def test_a_follow_up_turn_reuses_the_cached_conversation(
    engine: EngineClient, tiny_model: Path
) -> None:
    engine.load(tiny_model, LoadParams(n_ctx=512, n_parallel=2))
    history = "system prompt " * 20
    reply, first = engine.submit(GenerationRequest(history, _greedy(10))).collect(60)
    assert isinstance(first, Finished) and first.stats.cached_prompt_tokens <= 1
    engine.submit(GenerationRequest("another client", _greedy(5))).collect(60)
    _, follow = engine.submit(GenerationRequest(history + reply + " next", _greedy(5))).collect(60)
    assert isinstance(follow, Finished)
    assert follow.stats.cached_prompt_tokens >= first.stats.prompt_tokens


@pytest.mark.starter
def test_starter_streams_in_a_batch_complete_with_sensible_text(
    engine: EngineClient, starter_model_file: Path
) -> None:
    engine.load(starter_model_file, LoadParams(n_ctx=1024, n_parallel=4))
    prompts = ["The Eiffel Tower is located in the city of"] * 2 + ["Water boils at"] * 2
    handles = [engine.submit(GenerationRequest(p, _greedy(12))) for p in prompts]
    texts = [h.collect(120)[0] for h in handles]
    assert "Paris" in texts[0] and "Paris" in texts[1]
    assert texts[2] and texts[3]
