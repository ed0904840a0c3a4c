"""Factory models must really load and generate in llama.cpp (skipped without llama_cpp)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.gguf_factory import ModelSpec, write_model, write_tiny_llama

llama_cpp = pytest.importorskip("llama_cpp")


def _generate(path: Path) -> dict:
    llm = llama_cpp.Llama(model_path=str(path), n_ctx=256, verbose=False, seed=1)
    try:
        return llm.create_completion("Hello, world! 你好 🌍\n", max_tokens=6, temperature=0.7)
    finally:
        llm.close()


@pytest.mark.parametrize("dtype", ["F32", "F16"])
def test_tiny_llama_generates(tmp_path: Path, dtype: str) -> None:
    path = write_tiny_llama(tmp_path / "tiny.gguf", dtype=dtype, chat_template="{{ x }}")
    out = _generate(path)
    assert out["usage"]["completion_tokens"] > 0
    assert isinstance(out["choices"][0]["text"], str)


@pytest.mark.parametrize(
    "spec",
    [
        ModelSpec(arch="gemma3", n_embd=64, n_head=4, n_head_kv=1, sliding_window=32),
        ModelSpec(arch="qwen2", n_embd=64, n_head=4, n_head_kv=2),
        ModelSpec(arch="llama", n_embd=256, n_head=4, n_head_kv=1, dtype="Q4_K"),
        ModelSpec(arch="llama", n_embd=64, n_head=4, n_head_kv=4, dtype="Q8_0", head_dim=32),
    ],
    ids=["gemma3", "qwen2", "q4_k", "q8_0-head_dim"],
)
def test_spec_models_generate(tmp_path: Path, spec: ModelSpec) -> None:
    out = _generate(write_model(tmp_path / "m.gguf", spec))
    assert out["usage"]["completion_tokens"] > 0
