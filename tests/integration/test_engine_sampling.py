"""The runtime's greedy fast path (argmax over the logits row) picks llama.cpp's greedy token,
and only chains that are plain greedy take it."""

from __future__ import annotations

import ctypes
import math
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from app.backend.engine.types import LoadParams, SamplingParams

ll = pytest.importorskip("llama_cpp")

PROMPTS = ["Once upon a time", "The capital of France is", "def fib(n):", "1, 2, 3, 4,"]


@pytest.fixture
def runtime(starter_model_file: Path) -> Iterator[object]:
    from app.backend.engine.runtime import LlamaRuntime

    rt = LlamaRuntime(str(starter_model_file), LoadParams(n_ctx=256, n_parallel=4))
    yield rt
    rt.close()


def _decode_rows(rt, batch, prompts: list[str], step: int) -> list[int]:
    """Decode one batch holding each prompt (extended by ``step`` filler tokens) in its own
    sequence; returns the batch row of each sequence's logits."""
    batch.clear()
    rows = []
    filler = rt.tokenize(" and", add_bos=False)
    for seq_id, prompt in enumerate(prompts):
        tokens = rt.tokenize(prompt, add_bos=True) + filler * step
        rt.seq_rm(seq_id, -1, -1)
        rows.append(batch.add_run(tokens, 0, seq_id, True))
    assert rt.decode(batch.view()) == 0
    return rows


def test_greedy_fast_path_matches_llama_cpp_greedy_sampler(runtime) -> None:
    from app.backend.engine.batch import TokenBatch

    greedy = SamplingParams(temperature=0.0, repeat_penalty=1.0)
    batch = TokenBatch(256)
    reference = ll.llama_sampler_init_greedy()
    checked = 0
    for step in range(3):
        rows = _decode_rows(runtime, batch, PROMPTS, step)
        for row in rows:
            chain = runtime.build_sampler(greedy, None)
            fast = runtime.sample(chain, row)
            runtime.free_sampler(chain)
            assert fast == ll.llama_sampler_sample(reference, runtime.ctx, row)
            checked += 1
    ll.llama_sampler_free(reference)
    assert checked == 3 * len(PROMPTS)


@pytest.mark.parametrize(
    ("sampling", "grammar", "fast"),
    [
        (SamplingParams(temperature=0.0, repeat_penalty=1.0), None, True),
        (SamplingParams(temperature=0.0, repeat_penalty=1.0, repeat_last_n=0), None, True),
        (SamplingParams(temperature=0.0, repeat_penalty=1.0, repeat_last_n=64), None, True),
        (SamplingParams(temperature=0.0, repeat_penalty=1.1), None, False),
        (SamplingParams(temperature=0.0, repeat_penalty=1.0), 'root ::= "yes" | "no"', False),
        (SamplingParams(temperature=0.7, seed=1), None, False),
    ],
)
def test_only_plain_greedy_chains_skip_the_sampler(
    runtime, monkeypatch: pytest.MonkeyPatch, sampling: SamplingParams, grammar, fast: bool
) -> None:
    """Penalties and grammars keep state and reshape the logits: those chains must run."""
    from app.backend.engine import runtime as runtime_module
    from app.backend.engine.batch import TokenBatch

    rows = _decode_rows(runtime, TokenBatch(256), PROMPTS[:1], 0)
    calls = []
    real = runtime_module.ll.llama_sampler_sample

    def counting(chain, ctx, row):
        calls.append(row)
        return real(chain, ctx, row)

    monkeypatch.setattr(runtime_module.ll, "llama_sampler_sample", counting)
    chain = runtime.build_sampler(sampling, grammar)
    token = runtime.sample(chain, rows[0])
    runtime.free_sampler(chain)
    assert 0 <= token < runtime.n_vocab
    assert calls == ([] if fast else [rows[0]])


def _llama_cpp_probabilities(rt, row: int) -> np.ndarray:
    """Probabilities of batch row ``row`` as llama.cpp's own dist sampler computes them
    (its softmax fills ``p`` of every candidate): the reference for our log-probs."""
    n_vocab = rt.n_vocab
    data = (ll.llama_token_data * n_vocab)()
    view = np.frombuffer(data, dtype=[("id", "<i4"), ("logit", "<f4"), ("p", "<f4")])
    view["id"] = np.arange(n_vocab)
    view["logit"] = np.ctypeslib.as_array(ll.llama_get_logits_ith(rt.ctx, row), (n_vocab,))
    candidates = ll.llama_token_data_array(data, n_vocab, -1, False)
    dist = ll.llama_sampler_init_dist(1234)
    ll.llama_sampler_apply(dist, ctypes.byref(candidates))
    ll.llama_sampler_free(dist)
    probs = np.zeros(n_vocab)
    chosen = np.ctypeslib.as_array(candidates.data, (candidates.size,))
    probs[chosen["id"]] = chosen["p"]
    return probs


def test_logprobs_match_llama_cpp_softmax(runtime) -> None:
    """The engine's per-token log-probability and top alternatives agree with llama.cpp's
    own softmax over the same logits row, for the greedy token and the runners-up."""
    from app.backend.engine.batch import TokenBatch

    batch = TokenBatch(256)
    rows = _decode_rows(runtime, batch, PROMPTS, 0)
    for row in rows:
        token = runtime.argmax(row)
        entry = runtime.logprob(row, token, 5)
        probs = _llama_cpp_probabilities(runtime, row)
        assert entry.logprob == pytest.approx(math.log(probs[token]), abs=1e-3)
        assert entry.top[0].bytes == entry.bytes  # greedy: the likeliest
        expected = np.argsort(-probs, kind="stable")[:5]
        assert [t.bytes for t in entry.top] == [list(runtime.piece(int(t))) for t in expected]
        for alt, ref in zip(entry.top, expected, strict=True):
            assert alt.logprob == pytest.approx(math.log(probs[ref]), abs=1e-3)
        assert entry.top == sorted(entry.top, key=lambda t: -t.logprob)
