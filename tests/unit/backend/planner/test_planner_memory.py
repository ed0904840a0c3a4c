"""The memory model's terms, checked by hand against llama.cpp's allocation rules."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from synthetic import llama_header

from app.backend.planner import ModelShape, Settings, estimate, kv_cells
from app.backend.planner.memory import (
    GPU_CONTEXT_BYTES,
    RUNTIME_BYTES,
    VOCAB_HOST_BYTES_PER_TOKEN,
    layer_devices,
    layer_kv_bytes,
)
from app.backend.planner.shape import ModelShapeError

MiB = 1024**2


def gemma3_shape(n_layers: int = 18, window: int = 512) -> ModelShape:
    h = llama_header(
        arch="gemma3", n_layers=n_layers, n_embd=640, n_head=4, n_head_kv=1, n_ff=2048,
        n_vocab=262144, n_ctx_train=32768, tied=True,
        extra={"gemma3.attention.sliding_window": window, "gemma3.attention.key_length": 256,
               "gemma3.attention.value_length": 256},
    )  # fmt: skip
    return ModelShape.from_header(h)


def test_gemma3_swa_pattern_is_five_local_one_global() -> None:
    s = gemma3_shape()
    assert [il for il in range(18) if not s.is_swa[il]] == [5, 11, 17]
    assert s.n_swa == 512 and s.tied_output and s.n_vocab == 262144


def test_gemma3_kv_matches_llama_cpp_log() -> None:
    """llama.cpp at n_ctx=8192: non-SWA 24 MiB (3 layers), SWA 120 MiB (15 layers)."""
    s = gemma3_shape()
    kv = layer_kv_bytes(s, Settings(n_ctx=8192))
    assert sum(kv[il] for il in (5, 11, 17)) == 24 * MiB
    assert sum(kv) == 144 * MiB
    # swa_full=False: min(8192, 512 + 512) = 1024 cells, padded to 256 -> 1024
    assert kv_cells(s, Settings(n_ctx=8192, swa_full=False)) == (8192, 1024)
    assert kv_cells(s, Settings(n_ctx=100, swa_full=False)) == (256, 256)  # padded n_ctx


def test_kv_quantized_and_padding_and_parallel() -> None:
    s = gemma3_shape()
    # q8_0: 256 values = 8 blocks of 34 bytes per row
    kv = layer_kv_bytes(s, Settings(n_ctx=1000, type_k="q8_0", type_v="q8_0"))
    assert kv[0] == 1024 * 2 * 8 * 34  # n_ctx 1000 -> 1024 cells
    # 4 sequences, 3000 ctx: 3072 / 4 = 768 per stream, 3072 cells total
    assert kv_cells(s, Settings(n_ctx=3000, n_seq=4)) == (3072, 3072)
    # swa per stream: min(768, 512 + 512) = 768 -> x4 streams
    assert kv_cells(s, Settings(n_ctx=3000, n_seq=4, swa_full=False)) == (3072, 3072)


def test_per_layer_head_count_kv_array() -> None:
    h = llama_header(n_layers=4, n_embd=512, n_head=8, n_head_kv=8, n_ff=1024, n_vocab=1000,
                     extra={"llama.attention.head_count_kv": [8, 0, 2, 8]})  # fmt: skip
    s = ModelShape.from_header(h)
    kv = layer_kv_bytes(s, Settings(n_ctx=256))
    assert kv == [256 * 2 * 64 * 8 * 2, 0, 256 * 2 * 64 * 2 * 2, 256 * 2 * 64 * 8 * 2]


def test_compute_reserve_matches_llama_cpp_for_starter_shape() -> None:
    """llama.cpp prints 'CPU compute buffer size = 514.50 MiB' for gemma-3-270m at 8192."""
    m = estimate(gemma3_shape(), Settings(n_ctx=8192), 0, [])
    assert m.compute_reserved_bytes == 262144 * 512 * 4 + 2 * 640 * 512 * 4  # 514.5 MiB
    assert m.output_bytes == 262144 * 4  # 'CPU output buffer size = 1.00 MiB'


def test_cpu_only_totals_add_up() -> None:
    s = gemma3_shape()
    m = estimate(s, Settings(n_ctx=2048), 0, [])
    host = s.n_vocab * VOCAB_HOST_BYTES_PER_TOKEN + RUNTIME_BYTES
    assert m.gpu_bytes == 0 and m.per_gpu_bytes == []
    assert m.cpu_bytes == s.weights_bytes + m.kv_bytes + m.compute_bytes + m.output_bytes + host
    assert m.total_bytes == m.cpu_bytes


def test_layer_devices_follow_llama_cpp_split() -> None:
    # 4 layers + output, 3 GPU layers -> layers 2, 3 and the output layer on GPU
    assert layer_devices(4, 3, [1.0]) == [-1, -1, 0, 0, 0]
    # two GPUs 3:1, all 5 "layers": fractions 0, .2, .4, .6 -> GPU0; .8 -> GPU1
    assert layer_devices(4, 5, [3.0, 1.0]) == [0, 0, 0, 0, 1]
    assert layer_devices(4, 99, [1.0, 1.0]) == [0, 0, 0, 1, 1]
    assert layer_devices(4, 0, [1.0]) == [-1] * 5


def test_full_offload_puts_everything_but_token_embd_on_gpu() -> None:
    s = ModelShape.from_header(llama_header(n_layers=4, n_embd=512, n_head=8, n_head_kv=8,
                                            n_ff=1024, n_vocab=1000))  # fmt: skip
    m = estimate(s, Settings(n_ctx=256), 5, [1.0])
    gpu, cpu = m.devices[1], m.devices[0]
    assert gpu["weights_bytes"] == sum(s.layer_bytes) + s.output_bytes
    assert cpu["weights_bytes"] == s.token_embd_bytes
    assert cpu["kv_bytes"] == 0 and gpu["kv_bytes"] == m.kv_bytes
    assert gpu["other_bytes"] == GPU_CONTEXT_BYTES


def test_tied_output_is_duplicated_on_gpu() -> None:
    s = gemma3_shape()
    m = estimate(s, Settings(n_ctx=512), 19, [1.0])
    assert m.devices[1]["weights_bytes"] == sum(s.layer_bytes) + s.output_bytes + s.token_embd_bytes


def test_header_without_layers_is_a_clean_error() -> None:
    h = llama_header(n_layers=1)
    bad = type(h)(3, {"general.architecture": "llama"}, h.tensors, 0, 32, 0)
    with pytest.raises(ModelShapeError, match="block_count"):
        ModelShape.from_header(bad)
