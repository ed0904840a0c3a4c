"""The hard-coded ggml/llama.cpp tables must agree with the gguf package's."""

from __future__ import annotations

import pytest
from gguf import GGML_QUANT_SIZES, GGMLQuantizationType, LlamaFileType

from app.backend.gguf import (
    FILE_TYPE_NAMES,
    GGML_TYPE_NAMES,
    GGML_TYPE_SIZES,
    SUPPORTED_ARCHITECTURES,
    ggml_block_size,
    ggml_type_size,
)


def test_type_sizes_match_gguf_package() -> None:
    for qtype, sizes in GGML_QUANT_SIZES.items():
        assert GGML_TYPE_SIZES[int(qtype)] == sizes, qtype.name
        assert GGML_TYPE_NAMES[int(qtype)] == qtype.name
    # every type the gguf package knows is in our table (ours may be newer)
    assert {int(t) for t in GGMLQuantizationType} <= set(GGML_TYPE_SIZES)


def test_file_type_names_match_gguf_package() -> None:
    for ftype in LlamaFileType:
        if ftype == LlamaFileType.GUESSED:
            continue
        expected = ftype.name.removeprefix("MOSTLY_").removeprefix("ALL_")
        assert FILE_TYPE_NAMES[int(ftype)] == expected


@pytest.mark.parametrize(
    ("type_id", "n", "expected"),
    [(0, 10, 40), (1, 10, 20), (30, 3, 6), (8, 64, 68), (12, 512, 288), (14, 256, 210)],
)
def test_ggml_type_size(type_id: int, n: int, expected: int) -> None:
    assert ggml_type_size(type_id, n) == expected


def test_ggml_type_size_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="unknown ggml type 4"):
        ggml_type_size(4, 32)
    with pytest.raises(ValueError, match="Q4_K"):
        ggml_type_size(12, 100)
    with pytest.raises(ValueError):
        ggml_block_size(999)
    assert ggml_block_size(12) == 256


def test_supported_architectures() -> None:
    known = {
        "llama", "llama4", "gemma", "gemma2", "gemma3", "gemma3n", "qwen2", "qwen3",
        "qwen3moe", "qwen3next", "phi3", "mistral3", "gpt-oss", "granite", "granitemoe",
        "exaone4", "ernie4_5", "smollm3", "hunyuan-moe", "lfm2", "seed_oss", "apertus",
        "deepseek2", "glm4", "command-r", "olmo2", "t5", "bert", "mamba", "rwkv7",
    }  # fmt: skip
    assert known <= SUPPORTED_ARCHITECTURES
    assert "clip" not in SUPPORTED_ARCHITECTURES
    assert "" not in SUPPORTED_ARCHITECTURES
