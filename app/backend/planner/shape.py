"""The numbers the planner needs from a GGUF header, gathered once.

Everything comes from the header: per-layer weight bytes are the sum of the real ``blk.N.*``
tensor sizes; attention geometry and the sliding-window layer pattern follow how
llama.cpp (vendored in llama-cpp-python 0.3.36) reads the same keys in ``src/models/*.cpp``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from app.backend.gguf import GGUFHeader, SkippedArray

# arch -> (default SWA pattern n, dense_first, default window) from load_swa_pattern() calls
# in src/models/<arch>.cpp. Pattern n: layer il is SWA iff il % n < n - 1 (dense_first:
# iff il % n != 0); n == 0 means every layer is SWA.
_SWA_ARCHES: dict[str, tuple[int, bool, int | None]] = {
    "gemma2": (2, False, 4096),
    "gemma3": (6, False, None),  # SWA only when attention.sliding_window > 0
    "gemma-embedding": (6, False, None),
    "cohere2": (4, False, None),
    "openai-moe": (2, False, None),
    "gpt-oss": (2, False, None),
    "exaone4": (4, False, None),
    "olmo2": (4, False, None),
    "llama4": (4, False, None),
}

_BLK = re.compile(r"^blk\.(\d+)\.")


class ModelShapeError(ValueError):
    """The header lacks what planning needs (e.g. no block_count); message is user-facing."""


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _per_layer(value: Any, n_layers: int, default: int) -> tuple[int, ...]:
    """Scalar or per-layer array (e.g. ``head_count_kv`` in models with varying GQA)."""
    if isinstance(value, (list, tuple)) and len(value) == n_layers:
        return tuple(int(v) for v in value)
    scalar = _int(value)
    return (scalar if scalar is not None else default,) * n_layers


@dataclass(frozen=True)
class ModelShape:
    arch: str
    n_layers: int
    n_embd: int
    n_vocab: int
    n_ctx_train: int
    n_ff_max: int
    head_dim_k: int
    head_dim_v: int
    n_head: tuple[int, ...]
    n_head_kv: tuple[int, ...]
    n_swa: int  # 0 = no sliding window
    is_swa: tuple[bool, ...]
    layer_bytes: tuple[int, ...]  # weights of blk.N.*
    layer_max_tensor: tuple[int, ...]  # largest single tensor per layer (op_offload copies)
    token_embd_bytes: int  # input embedding: llama.cpp keeps it on the CPU (dev_input)
    output_bytes: int  # output_norm + output (+ any other non-block tensor): the output layer
    tied_output: bool  # no output.weight: llama.cpp duplicates token_embd onto the output device
    n_merges: int

    @property
    def weights_bytes(self) -> int:
        return sum(self.layer_bytes) + self.token_embd_bytes + self.output_bytes

    @classmethod
    def from_header(cls, header: GGUFHeader) -> ModelShape:
        n_layers = header.n_layers
        n_embd = _int(header.arch_get("embedding_length"))
        if not n_layers or not n_embd:
            raise ModelShapeError(
                f"can't plan a {header.architecture or 'unknown'} model: the file has no "
                "block_count / embedding_length"
            )
        head_raw = header.arch_get("attention.head_count")
        n_head = _per_layer(head_raw, n_layers, 1)
        n_head_kv = _per_layer(header.arch_get("attention.head_count_kv"), n_layers, n_head[0])
        head_max = max(n_head) or 1
        head_k = _int(header.arch_get("attention.key_length")) or n_embd // head_max
        head_v = _int(header.arch_get("attention.value_length")) or head_k

        layer_bytes = [0] * n_layers
        layer_max = [0] * n_layers
        token_embd = output = 0
        has_output = False
        n_vocab = 0
        for t in header.tensors:
            m = _BLK.match(t.name)
            if m and int(m.group(1)) < n_layers:
                il = int(m.group(1))
                layer_bytes[il] += t.nbytes
                layer_max[il] = max(layer_max[il], t.nbytes)
            elif t.name == "token_embd.weight":
                token_embd += t.nbytes
                n_vocab = t.shape[1] if len(t.shape) > 1 else n_vocab
            else:
                if t.name == "output.weight":
                    has_output = True
                    n_vocab = t.shape[1] if len(t.shape) > 1 else n_vocab
                output += t.nbytes
        tokens = header.get("tokenizer.ggml.tokens")
        if isinstance(tokens, (SkippedArray, list)):
            n_vocab = n_vocab or len(tokens)
        n_vocab = n_vocab or _int(header.arch_get("vocab_size")) or 0
        merges = header.get("tokenizer.ggml.merges")
        n_merges = len(merges) if isinstance(merges, (SkippedArray, list)) else 0

        n_ff = header.arch_get("feed_forward_length")
        n_ff_max = (
            max(n_ff) if isinstance(n_ff, (list, tuple)) and n_ff else _int(n_ff) or 4 * n_embd
        )

        n_swa, is_swa = _swa_layers(header, n_layers)
        return cls(
            arch=header.architecture,
            n_layers=n_layers,
            n_embd=n_embd,
            n_vocab=n_vocab,
            n_ctx_train=header.n_ctx_train or 4096,
            n_ff_max=int(n_ff_max),
            head_dim_k=head_k,
            head_dim_v=head_v,
            n_head=n_head,
            n_head_kv=n_head_kv,
            n_swa=n_swa,
            is_swa=is_swa,
            layer_bytes=tuple(layer_bytes),
            layer_max_tensor=tuple(layer_max),
            token_embd_bytes=token_embd,
            output_bytes=output,
            tied_output=not has_output,
            n_merges=n_merges,
        )


def _swa_layers(header: GGUFHeader, n_layers: int) -> tuple[int, tuple[bool, ...]]:
    """(window, per-layer SWA flags) as llama.cpp's load_swa_pattern() computes them."""
    arch = header.architecture
    spec = _SWA_ARCHES.get(arch)
    window = _int(header.arch_get("attention.sliding_window"))
    if spec is None:
        return 0, (False,) * n_layers
    n_pattern, dense_first, default_window = spec
    window = window if window is not None else default_window
    if not window:
        return 0, (False,) * n_layers
    pattern = header.arch_get("attention.sliding_window_pattern")
    if isinstance(pattern, (list, tuple)) and len(pattern) == n_layers:
        return window, tuple(bool(p) for p in pattern)
    n = _int(pattern)
    n_pattern = n if n is not None else n_pattern
    if dense_first:
        flags = tuple(n_pattern == 0 or il % n_pattern != 0 for il in range(n_layers))
    else:
        flags = tuple(n_pattern == 0 or il % n_pattern < n_pattern - 1 for il in range(n_layers))
    return window, flags
