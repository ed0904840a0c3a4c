"""Reading headers of well-formed files, cross-checked against gguf's own reader."""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from gguf import GGUFReader, GGUFValueType, GGUFWriter

from app.backend.gguf import (
    BytesPrefixSource,
    GGUFHeader,
    NeedMoreData,
    SkippedArray,
    is_mmproj,
    read_header,
    validate_model_file,
)
from tests.helpers.gguf_factory import (
    T_ARRAY,
    T_UINT32,
    ModelSpec,
    arch_kv,
    raw_gguf,
    raw_kv,
    raw_tensor_info,
    write_model,
    write_tiny_llama,
)

TEMPLATE = "{% for m in messages %}<|{{ m.role }}|>{{ m.content }}{% endfor %}"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("gguf") / "tiny.gguf"
    return write_tiny_llama(path, chat_template=TEMPLATE, name="Tiny Test")


def _reader_value(field: Any) -> Any:
    """Decode a GGUFReader field the slow, obviously-correct way."""
    vtype = field.types[0]
    if vtype == GGUFValueType.ARRAY:
        if field.types[1] == GGUFValueType.STRING:
            return [bytes(field.parts[i]).decode() for i in field.data]
        return [field.parts[i].tolist()[0] for i in field.data]
    if vtype == GGUFValueType.STRING:
        return bytes(field.parts[field.data[0]]).decode()
    return field.parts[field.data[0]].tolist()[0]


def test_tiny_model_summary(tiny: Path) -> None:
    h = read_header(tiny)
    assert isinstance(h, GGUFHeader)
    assert h.version == 3
    assert h.architecture == "llama"
    assert h.name == "Tiny Test"
    assert h.n_layers == 2
    assert h.n_ctx_train == 512
    assert h.chat_template == TEMPLATE
    assert h.quantization == "F32"
    assert h.file_type == 0
    assert h.arch_get("embedding_length") == 64
    assert h.arch_get("missing", "dflt") == "dflt"
    assert h.get("tokenizer.ggml.bos_token_id") == 1
    assert len(h.tensors) == 3 + 9 * 2
    assert h.alignment == 32
    assert h.data_offset % 32 == 0
    assert h.header_bytes <= h.data_offset < h.header_bytes + 32
    assert h.data_end == tiny.stat().st_size
    assert h.tensor_bytes == 4 * h.n_params
    assert not is_mmproj(h)


def test_matches_gguf_reader(tiny: Path) -> None:
    h = read_header(tiny)
    ref = GGUFReader(tiny)
    ref_fields = {k: v for k, v in ref.fields.items() if not k.startswith("GGUF.")}
    assert set(h.metadata) == set(ref_fields)
    for key, field in ref_fields.items():
        expected = _reader_value(field)
        got = h.metadata[key]
        if isinstance(expected, float):
            assert got == pytest.approx(expected), key
        else:
            assert got == expected, key
    assert len(h.tensors) == len(ref.tensors)
    for mine, theirs in zip(h.tensors, ref.tensors, strict=True):
        assert mine.name == theirs.name
        assert mine.shape == tuple(int(d) for d in theirs.shape)
        assert mine.ggml_type == int(theirs.tensor_type)
        assert mine.nbytes == int(theirs.n_bytes)
        assert h.data_offset + mine.offset == int(theirs.data_offset)
        assert mine.n_elements == int(theirs.n_elements)


def test_bytes_and_path_agree(tiny: Path) -> None:
    assert read_header(tiny.read_bytes()) == read_header(tiny)
    assert read_header(bytearray(tiny.read_bytes())) == read_header(str(tiny))


def test_large_arrays_are_skipped(tmp_path: Path) -> None:
    path = write_model(tmp_path / "v.gguf", ModelSpec(n_vocab=5000, n_layers=1, fill="zeros"))
    h = read_header(path)
    tokens = h.get("tokenizer.ggml.tokens")
    assert isinstance(tokens, SkippedArray)
    assert (tokens.item_type, tokens.length, len(tokens)) == (8, 5000, 5000)
    assert isinstance(h.get("tokenizer.ggml.scores"), SkippedArray)
    assert isinstance(h.get("tokenizer.ggml.token_type"), SkippedArray)
    # the recorded offset points at the first token: u64 length 5 + "<unk>"
    with path.open("rb") as f:
        f.seek(tokens.offset)
        assert f.read(13) == (5).to_bytes(8, "little") + b"<unk>"


def test_f16_and_quantized_models(tmp_path: Path) -> None:
    h = read_header(write_tiny_llama(tmp_path / "f16.gguf", dtype="F16"))
    assert h.quantization == "F16"
    assert {t.type_name for t in h.tensors} == {"F16", "F32"}
    q8 = ModelSpec(n_embd=64, dtype="Q8_0", n_layers=1)
    assert validate_model_file(write_model(tmp_path / "q8.gguf", q8)).quantization == "Q8_0"
    q4 = ModelSpec(n_embd=256, n_head=4, n_head_kv=1, dtype="Q4_K", n_layers=1)
    h = validate_model_file(write_model(tmp_path / "q4.gguf", q4))
    assert h.quantization == "Q4_K_M"
    emb = next(t for t in h.tensors if t.name == "token_embd.weight")
    assert (emb.type_name, emb.shape, emb.nbytes) == ("Q4_K", (256, 384), 384 * 144)


@pytest.mark.parametrize("arch", ["gemma3", "qwen2"])
def test_other_architectures(tmp_path: Path, arch: str) -> None:
    spec = ModelSpec(arch=arch, n_layers=3, n_embd=128, n_head=4, n_head_kv=1, sliding_window=64)
    h = validate_model_file(write_model(tmp_path / f"{arch}.gguf", spec))
    names = {t.name for t in h.tensors}
    assert h.architecture == arch
    assert h.n_layers == 3
    if arch == "gemma3":
        assert "output.weight" not in names
        assert {"blk.2.attn_q_norm.weight", "blk.0.post_ffw_norm.weight"} <= names
        assert h.arch_get("attention.sliding_window") == 64
        assert h.arch_get("attention.key_length") == 32
    else:
        assert {"output.weight", "blk.0.attn_q.bias"} <= names


def test_quantization_guessed_from_tensors_without_file_type() -> None:
    infos = [
        raw_tensor_info("a.weight", [256, 4], 12, 0),  # Q4_K, 1024 elements
        raw_tensor_info("b.weight", [256], 0, 576),  # F32 1-D (ignored for the guess)
    ]
    data = raw_gguf([arch_kv()], infos, data=b"\0" * (576 + 1024))
    h = read_header(data)
    assert h.file_type is None
    assert h.quantization == "Q4_K"
    assert h.data_end == len(data)


def test_custom_alignment(tmp_path: Path) -> None:
    path = tmp_path / "aligned.gguf"
    w = GGUFWriter(path, "llama")
    w.add_custom_alignment(256)
    w.add_tensor("a.weight", np.ones((3, 5), dtype=np.float32))
    w.add_tensor("b.weight", np.ones(7, dtype=np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    h = read_header(path)
    assert h.alignment == 256
    assert h.data_offset % 256 == 0
    assert [t.offset for t in h.tensors] == [0, 256]
    assert h.data_end <= path.stat().st_size


def test_zero_tensor_file_and_small_arrays() -> None:
    u32_array = struct.pack("<IQ3I", T_UINT32, 3, 7, 8, 9)
    kvs = [arch_kv(), raw_kv("x.list", T_ARRAY, u32_array), raw_kv("x.flag", 7, b"\x01")]
    h = read_header(raw_gguf(kvs))
    assert h.get("x.list") == [7, 8, 9]
    assert h.get("x.flag") is True
    assert h.tensors == ()
    assert h.n_params == 0
    assert h.quantization == "unknown"


def test_need_more_data_widening(tiny: Path) -> None:
    data = tiny.read_bytes()
    full = read_header(data)
    for total in (len(data), None):
        n, rounds = 16, 0
        while True:
            try:
                h = read_header(BytesPrefixSource(data[:n], total))
                break
            except NeedMoreData as e:
                assert e.needed_end > n
                n = max(e.needed_end, 2 * n)
                rounds += 1
        assert h == full
        assert n < 2 * full.header_bytes
        assert rounds > 3
    # the smallest prefix that works is exactly header_bytes
    assert read_header(BytesPrefixSource(data[: full.header_bytes], None)) == full
    with pytest.raises(NeedMoreData) as info:
        read_header(BytesPrefixSource(data[: full.header_bytes - 1], None))
    assert info.value.needed_end == full.header_bytes
