"""The factory's bigger models: shapes round-trip and 200 MB+ files write quickly."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from app.backend.gguf import validate_model_file
from tests.helpers.gguf_factory import MIN_VOCAB, ModelSpec, spm_vocab, write_model


def test_vocab_is_unique_and_sized() -> None:
    tokens, scores, types = spm_vocab(40000)
    assert len(tokens) == len(set(tokens)) == len(scores) == len(types) == 40000
    assert tokens[3] == "<0x00>" and tokens[258] == "<0xFF>"
    with pytest.raises(ValueError, match="at least"):
        spm_vocab(MIN_VOCAB - 1)


def test_shapes_round_trip(tmp_path: Path) -> None:
    spec = ModelSpec(
        arch="gemma3", n_layers=4, n_embd=256, n_head=8, n_head_kv=2, head_dim=64,
        n_ff=512, n_vocab=1000, n_ctx_train=8192, sliding_window=128, dtype="Q8_0",
    )  # fmt: skip
    h = validate_model_file(write_model(tmp_path / "g.gguf", spec))
    assert (h.n_layers, h.n_ctx_train, h.quantization) == (4, 8192, "Q8_0")
    assert h.arch_get("attention.head_count_kv") == 2
    assert h.arch_get("attention.key_length") == 64
    q = next(t for t in h.tensors if t.name == "blk.0.attn_q.weight")
    k = next(t for t in h.tensors if t.name == "blk.0.attn_k.weight")
    assert (q.shape, k.shape) == ((256, 512), (256, 128))


def test_bad_specs_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="arch"):
        write_model(tmp_path / "x.gguf", ModelSpec(arch="mamba"))
    with pytest.raises(ValueError, match="block"):
        write_model(tmp_path / "x.gguf", ModelSpec(n_embd=64, dtype="Q4_K"))


@pytest.mark.slow
def test_large_model_writes_fast(tmp_path: Path) -> None:
    spec = ModelSpec(
        arch="llama", n_layers=12, n_embd=1024, n_head=16, n_head_kv=4, n_ff=2816,
        n_vocab=32000, dtype="F16",
    )  # fmt: skip
    start = time.perf_counter()
    path = write_model(tmp_path / "big.gguf", spec)
    elapsed = time.perf_counter() - start
    size = path.stat().st_size
    assert size > 200e6
    assert elapsed < 20, f"writing {size / 1e6:.0f} MB took {elapsed:.1f} s"
    assert validate_model_file(path).data_end == size
