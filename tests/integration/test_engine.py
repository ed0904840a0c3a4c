"""The real engine process on real GGUF files: generation, concurrency, cancel, crashes."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from app.backend.engine.client import EngineClient, EngineLoadError, EngineNotReady
from app.backend.engine.types import (
    EngineState,
    Failed,
    Finished,
    GenerationRequest,
    LoadParams,
    SamplingParams,
    TokenChunk,
)
from tests.helpers.gguf_factory import (
    write_absurd_counts,
    write_not_gguf,
    write_truncated,
    write_unknown_arch,
)

pytest.importorskip("llama_cpp")


@pytest.fixture
def engine(tmp_path: Path):
    client = EngineClient(tmp_path / "logs")
    yield client
    client.close()


def _greedy(max_tokens: int, **extra) -> SamplingParams:
    return SamplingParams(temperature=0.0, max_tokens=max_tokens, **extra)


def test_load_reports_progress_and_model_facts(engine: EngineClient, tiny_model: Path) -> None:
    progress: list[float] = []
    info = engine.load(tiny_model, LoadParams(n_ctx=256), on_progress=progress.append)
    assert engine.status.state is EngineState.READY
    assert info.architecture == "llama"
    assert info.n_ctx == 256
    assert progress and progress[-1] == pytest.approx(1.0)


def test_generation_streams_in_batches_and_counts_tokens(
    engine: EngineClient, tiny_model: Path
) -> None:
    engine.load(tiny_model, LoadParams(n_ctx=256))
    handle = engine.submit(GenerationRequest("hello", _greedy(40)))
    events = list(handle.events(timeout=60))
    chunks = [e for e in events if isinstance(e, TokenChunk)]
    final = events[-1]
    assert isinstance(final, Finished)
    assert final.stop_reason in ("max_tokens", "eos")
    assert sum(c.n_tokens for c in chunks) == final.stats.completion_tokens
    assert final.stats.prompt_tokens >= 1


def test_greedy_generation_is_deterministic(engine: EngineClient, tiny_model: Path) -> None:
    engine.load(tiny_model, LoadParams(n_ctx=256))
    first, _ = engine.submit(GenerationRequest("abc", _greedy(20))).collect(60)
    second, _ = engine.submit(GenerationRequest("abc", _greedy(20))).collect(60)
    assert first == second


def test_several_requests_in_flight_all_complete(engine: EngineClient, tiny_model: Path) -> None:
    engine.load(tiny_model, LoadParams(n_ctx=256))
    handles = [engine.submit(GenerationRequest(f"q{i}", _greedy(10))) for i in range(4)]
    assert len({h.id for h in handles}) == 4
    for handle in handles:
        _, final = handle.collect(60)
        assert isinstance(final, Finished)
    assert engine.in_flight() == 0


def test_cancel_stops_a_running_request_promptly(engine: EngineClient, tiny_model: Path) -> None:
    engine.load(tiny_model, LoadParams(n_ctx=512))
    handle = engine.submit(GenerationRequest("x", _greedy(100_000, repeat_penalty=1.0)))
    next(handle.events(timeout=30))  # it is streaming
    started = time.monotonic()
    handle.cancel()
    assert handle.done.wait(5)
    assert time.monotonic() - started < 2.0
    assert isinstance(handle.result, Finished)
    assert handle.result.stop_reason in ("cancelled", "context_limit")


def test_cancel_of_a_queued_request_never_runs_it(engine: EngineClient, tiny_model: Path) -> None:
    engine.load(tiny_model, LoadParams(n_ctx=512))
    running = engine.submit(GenerationRequest("x", _greedy(200)))
    queued = engine.submit(GenerationRequest("y", _greedy(200)))
    queued.cancel()
    _, final = queued.collect(60)
    assert isinstance(final, Finished) and final.stop_reason == "cancelled"
    assert final.stats.completion_tokens == 0
    running.collect(60)


def test_context_limit_is_reported(engine: EngineClient, tiny_model: Path) -> None:
    engine.load(tiny_model, LoadParams(n_ctx=64))
    _, final = engine.submit(GenerationRequest("x", _greedy(1000))).collect(60)
    assert isinstance(final, Finished)
    assert final.stop_reason in ("context_limit", "eos")


def test_prompt_longer_than_context_fails_with_a_clear_message(
    engine: EngineClient, tiny_model: Path
) -> None:
    info = engine.load(tiny_model, LoadParams(n_ctx=64))  # llama.cpp rounds up to 256
    _, final = engine.submit(GenerationRequest("word " * 400, _greedy(5))).collect(60)
    assert isinstance(final, Failed)
    assert f"context holds {info.n_ctx}" in final.message
    # The engine is still fine afterwards.
    _, again = engine.submit(GenerationRequest("ok", _greedy(3))).collect(60)
    assert isinstance(again, Finished)


def test_killed_engine_fails_requests_and_can_load_again(
    engine: EngineClient, tiny_model: Path
) -> None:
    engine.load(tiny_model, LoadParams(n_ctx=512))
    handle = engine.submit(GenerationRequest("x", _greedy(100_000, repeat_penalty=1.0)))
    next(handle.events(timeout=30))
    pid = engine.engine_pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    assert handle.done.wait(10)
    assert isinstance(handle.result, Failed)
    assert handle.result.engine_crashed
    assert "SIGKILL" in handle.result.message
    assert engine.status.state is EngineState.ERROR
    with pytest.raises(EngineNotReady):
        engine.submit(GenerationRequest("x", _greedy(1)))
    engine.load(tiny_model, LoadParams(n_ctx=256))
    _, final = engine.submit(GenerationRequest("x", _greedy(3))).collect(60)
    assert isinstance(final, Finished)


def test_unload_ends_the_engine_process(engine: EngineClient, tiny_model: Path) -> None:
    engine.load(tiny_model, LoadParams(n_ctx=256))
    pid = engine.engine_pid
    engine.unload()
    assert engine.status.state is EngineState.EMPTY
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda p, src: write_not_gguf(p), "not a GGUF"),
        (lambda p, src: write_truncated(src, p, 100_000), "incomplete"),
        (lambda p, src: write_absurd_counts(p), "claims 4,611,686,018,427,387,904 tensors"),
        (lambda p, src: write_unknown_arch(p), "architecture"),
    ],
    ids=["not-gguf", "truncated", "absurd-counts", "unknown-arch"],
)
def test_bad_files_are_refused_before_llama_cpp_sees_them(
    engine: EngineClient, tiny_model: Path, tmp_path: Path, make, expected: str
) -> None:
    bad = tmp_path / "bad.gguf"
    make(bad, tiny_model)
    with pytest.raises(EngineLoadError) as info:
        engine.load(bad, LoadParams(n_ctx=256))
    message = str(info.value)
    assert expected.lower() in message.lower()
    assert "bad.gguf" in message
    assert "Traceback" not in message
    assert engine.engine_pid is None  # no process was ever started
    assert engine.status.state is EngineState.ERROR
    engine.load(tiny_model, LoadParams(n_ctx=256))  # still usable


@pytest.mark.starter
def test_starter_model_answers_and_honours_stop_strings(
    engine: EngineClient, starter_model_file: Path
) -> None:
    engine.load(starter_model_file, LoadParams(n_ctx=1024))
    text, final = engine.submit(
        GenerationRequest("The Eiffel Tower is located in the city of", _greedy(30))
    ).collect(120)
    assert isinstance(final, Finished)
    assert "Paris" in text
    cut, final = engine.submit(
        GenerationRequest("The Eiffel Tower is located in the city of", _greedy(30, stop=["Paris"]))
    ).collect(120)
    assert final.stop_reason == "stop_string"
    assert "Paris" not in cut


@pytest.mark.starter
def test_stop_during_a_long_prompt_read_is_prompt(
    engine: EngineClient, starter_model_file: Path
) -> None:
    engine.load(starter_model_file, LoadParams(n_ctx=8192, n_batch=2048))
    handle = engine.submit(GenerationRequest("lorem ipsum dolor " * 1500, _greedy(5)))
    time.sleep(0.3)  # inside prefill of ~6k tokens (several seconds on 2 cores)
    started = time.monotonic()
    handle.cancel()
    assert handle.done.wait(10)
    assert time.monotonic() - started < 1.5
    assert isinstance(handle.result, Finished)
    assert handle.result.stop_reason == "cancelled"
    text, final = engine.submit(GenerationRequest("The capital of France is", _greedy(8))).collect(
        60
    )
    assert isinstance(final, Finished) and text


def test_tokenize_counts_tokens_as_the_model_reads_them(
    engine: EngineClient, tiny_model: Path
) -> None:
    engine.load(tiny_model, LoadParams(n_ctx=256))
    with_bos = engine.tokenize("hello world", add_bos=True)
    without = engine.tokenize("hello world", add_bos=False)
    assert len(with_bos) == len(without) + 1


def test_embeddings_are_normalised_and_distinguish_texts(
    engine: EngineClient, tiny_model: Path
) -> None:
    engine.load(tiny_model, LoadParams(n_ctx=256))
    a, b, a_again = engine.embed(["the cat sat", "quantum flux capacitor", "the cat sat"])
    assert sum(x * x for x in a) == pytest.approx(1.0, abs=1e-4)
    assert a == pytest.approx(a_again, abs=1e-5)
    assert a != pytest.approx(b, abs=1e-3)
    # Generation still works after embedding (separate context, cache untouched).
    _, final = engine.submit(GenerationRequest("x", _greedy(3))).collect(60)
    assert isinstance(final, Finished)


@pytest.mark.starter
def test_grammar_constrains_the_output(engine: EngineClient, starter_model_file: Path) -> None:
    engine.load(starter_model_file, LoadParams(n_ctx=1024))
    grammar = 'root ::= "{" ws "\\"answer\\":" ws ("\\"yes\\"" | "\\"no\\"") ws "}"\nws ::= [ \\t]*'
    text, final = engine.submit(
        GenerationRequest("Is the sky blue? Answer in JSON:", _greedy(20), grammar=grammar)
    ).collect(120)
    import json

    assert json.loads(text)["answer"] in ("yes", "no")
    assert isinstance(final, Finished)


def test_invalid_grammar_fails_the_request_not_the_engine(
    engine: EngineClient, tiny_model: Path
) -> None:
    engine.load(tiny_model, LoadParams(n_ctx=256))
    _, final = engine.submit(GenerationRequest("x", _greedy(3), grammar="root ::= (")).collect(60)
    assert isinstance(final, Failed)
    assert "grammar" in final.message
    _, again = engine.submit(GenerationRequest("x", _greedy(3))).collect(60)
    assert isinstance(again, Finished)
