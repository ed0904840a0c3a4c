"""Build GGUFHeader objects in memory (no file) with realistic tensor sizes."""

from __future__ import annotations

from typing import Any

from app.backend.gguf import GGUFHeader, TensorInfo
from app.backend.gguf.ggml_types import GGML_TYPE_NAMES, ggml_type_size

Q4_K, Q6_K, F32 = 12, 14, 0


def _t(name: str, shape: tuple[int, ...], ggml_type: int, offset: int) -> TensorInfo:
    n = 1
    for d in shape:
        n *= d
    return TensorInfo(name, shape, ggml_type, GGML_TYPE_NAMES[ggml_type], offset,
                      ggml_type_size(ggml_type, n))  # fmt: skip


def llama_header(
    *,
    n_layers: int = 80,
    n_embd: int = 8192,
    n_head: int = 64,
    n_head_kv: int = 8,
    n_ff: int = 28672,
    n_vocab: int = 128256,
    n_ctx_train: int = 131072,
    arch: str = "llama",
    extra: dict[str, Any] | None = None,
    tied: bool = False,
) -> GGUFHeader:
    """A llama-shaped header with Q4_K_M-like types (Q6_K for V/down/output, like llama.cpp)."""
    head_dim = n_embd // n_head
    kv = n_head_kv * head_dim
    tensors: list[TensorInfo] = []
    off = 0

    def add(name: str, shape: tuple[int, ...], ggml_type: int) -> None:
        nonlocal off
        tensors.append(_t(name, shape, ggml_type, off))
        off += tensors[-1].nbytes

    add("token_embd.weight", (n_embd, n_vocab), Q4_K)
    for i in range(n_layers):
        p = f"blk.{i}."
        add(p + "attn_norm.weight", (n_embd,), F32)
        add(p + "attn_q.weight", (n_embd, n_embd), Q4_K)
        add(p + "attn_k.weight", (n_embd, kv), Q4_K)
        add(p + "attn_v.weight", (n_embd, kv), Q6_K)
        add(p + "attn_output.weight", (n_embd, n_embd), Q4_K)
        add(p + "ffn_norm.weight", (n_embd,), F32)
        add(p + "ffn_gate.weight", (n_embd, n_ff), Q4_K)
        add(p + "ffn_up.weight", (n_embd, n_ff), Q4_K)
        add(p + "ffn_down.weight", (n_ff, n_embd), Q6_K)
    add("output_norm.weight", (n_embd,), F32)
    if not tied:
        add("output.weight", (n_embd, n_vocab), Q6_K)
    md: dict[str, Any] = {
        "general.architecture": arch,
        f"{arch}.block_count": n_layers,
        f"{arch}.embedding_length": n_embd,
        f"{arch}.attention.head_count": n_head,
        f"{arch}.attention.head_count_kv": n_head_kv,
        f"{arch}.feed_forward_length": n_ff,
        f"{arch}.context_length": n_ctx_train,
        **(extra or {}),
    }
    return GGUFHeader(version=3, metadata=md, tensors=tuple(tensors), data_offset=0,
                      alignment=32, header_bytes=0)  # fmt: skip
