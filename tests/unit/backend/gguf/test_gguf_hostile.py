"""Damaged, truncated and malicious files fail fast with the specific, user-facing error."""

from __future__ import annotations

import random
import struct
import time
from pathlib import Path

import pytest

from app.backend.gguf import (
    CorruptGGUFError,
    GGUFError,
    NotGGUFError,
    TruncatedGGUFError,
    UnsupportedArchitectureError,
    is_mmproj,
    read_header,
    validate_model_file,
)
from tests.helpers.gguf_factory import (
    T_ARRAY,
    T_FLOAT32,
    T_STRING,
    T_UINT32,
    T_UINT64,
    arch_kv,
    raw_gguf,
    raw_kv,
    raw_string,
    raw_tensor_info,
    write_absurd_counts,
    write_not_gguf,
    write_tiny_llama,
    write_truncated,
    write_unknown_arch,
)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_llama(tmp_path_factory.mktemp("gguf") / "tiny.gguf")


def _expect(path: Path, cls: type[GGUFError], *words: str, validate: bool = False) -> GGUFError:
    with pytest.raises(cls) as info:
        (validate_model_file if validate else read_header)(path)
    msg = str(info.value)
    assert f'"{path.name}"' in msg
    for word in words:
        assert word in msg, msg
    assert "Traceback" not in msg
    assert info.value.path == str(path)
    return info.value


# --------------------------------------------------------------------------- not GGUF


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (None, ["not a GGUF model file", "b'PK\\x03\\x04'", "ZIP"]),
        (b"<!DOCTYPE html><html>Not found</html>", ["web page"]),
        (b"version https://git-lfs.github.com/spec/v1\n", ["Git LFS"]),
        (struct.pack("<Q", 100) + b'{"__metadata__": {}}', ["safetensors"]),
        (b"lmgg" + b"\0" * 100, ["GGML"]),
        (b"GG", ["not a GGUF model file"]),
        (b"", ["empty"]),
    ],
)
def test_not_gguf(tmp_path: Path, content: bytes | None, words: list[str]) -> None:
    path = write_not_gguf(tmp_path / "download.gguf", content)
    _expect(path, NotGGUFError, *words)
    _expect(path, NotGGUFError, *words, validate=True)


def test_missing_file_and_folder(tmp_path: Path) -> None:
    with pytest.raises(GGUFError, match=r'"nope\.gguf" does not exist'):
        read_header(tmp_path / "nope.gguf")
    (tmp_path / "dir.gguf").mkdir()
    with pytest.raises(GGUFError, match="is a folder"):
        validate_model_file(tmp_path / "dir.gguf")


# --------------------------------------------------------------------------- truncated


def test_truncated_inside_header(tiny: Path, tmp_path: Path) -> None:
    header_bytes = read_header(tiny).header_bytes
    for keep in (5, 12, 30, 200, header_bytes // 2, header_bytes - 1):
        path = write_truncated(tiny, tmp_path / f"cut{keep}.gguf", keep)
        _expect(path, TruncatedGGUFError, "incomplete", "download")
        _expect(path, TruncatedGGUFError, validate=True)


def test_truncated_inside_tensor_data(tiny: Path, tmp_path: Path) -> None:
    h = read_header(tiny)
    path = write_truncated(tiny, tmp_path / "partial.gguf", h.data_offset + 1000)
    assert read_header(path) == h  # the header itself is intact
    err = _expect(path, TruncatedGGUFError, "incomplete", "missing", validate=True)
    assert "672.3 KiB missing" in str(err)
    # one byte short is enough to be caught
    short = write_truncated(tiny, tmp_path / "short.gguf", h.data_end - 1)
    _expect(short, TruncatedGGUFError, validate=True)


def test_truncated_inside_skipped_array(tmp_path: Path) -> None:
    big = raw_kv("tokenizer.ggml.scores", T_ARRAY, struct.pack("<IQ", T_FLOAT32, 5000))
    path = tmp_path / "arr.gguf"
    path.write_bytes(raw_gguf([arch_kv(), big]) + b"\0" * 100)
    _expect(path, TruncatedGGUFError)


# --------------------------------------------------------------------------- absurd


@pytest.mark.parametrize(
    ("kind", "words"),
    [
        ("tensors", ["4,611,686,018,427,387,904 tensors"]),
        ("kv", ["metadata entries"]),
        ("string", ["general.name", "1.0 TiB"]),
        ("array", ["tokenizer.ggml.scores", "items"]),
        ("dims", ["absurd shape"]),
    ],
)
def test_absurd_counts(tmp_path: Path, kind: str, words: list[str]) -> None:
    path = write_absurd_counts(tmp_path / f"{kind}.gguf", kind)
    start = time.perf_counter()
    _expect(path, CorruptGGUFError, "damaged", *words)
    assert time.perf_counter() - start < 1.5  # no loop over the absurd count


def _tensor(name: str = "w", shape: tuple[int, ...] = (8, 2), typ: int = 0, off: int = 0) -> bytes:
    return raw_tensor_info(name, shape, typ, off)


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (raw_gguf([arch_kv()], version=1), ["version 1"]),
        (raw_gguf([arch_kv()], version=4), ["version 4"]),
        (raw_gguf([arch_kv()], version=0), ["invalid GGUF version"]),
        (raw_gguf([arch_kv()], version=3 << 24), ["big-endian"]),
        (raw_gguf([arch_kv(), raw_kv("x", 13, b"")]), ["unknown value type (13)"]),
        (raw_gguf([arch_kv(), raw_kv("x", T_ARRAY, struct.pack("<IQ", T_ARRAY, 1))]),
         ["array of array"]),
        (raw_gguf([arch_kv(), raw_kv("x", T_ARRAY, struct.pack("<IQ", 77, 1))]),
         ["unknown type 77"]),
        (raw_gguf([arch_kv(), arch_kv()]), ["'general.architecture' appears twice"]),
        (raw_gguf([arch_kv(), raw_kv("", T_UINT32, b"\0" * 4)]), ["empty name"]),
        (raw_gguf([arch_kv(), raw_kv("general.alignment", T_UINT32, struct.pack("<I", 48))]),
         ["alignment (48) is not a power of two"]),
        (raw_gguf([arch_kv(), raw_kv("general.alignment", T_UINT64, struct.pack("<Q", 32))]),
         ["must be a uint32"]),
        (raw_gguf([arch_kv(), raw_kv("general.name", T_STRING, struct.pack("<Q", 2**26 + 1))]),
         ["general.name", "64.0 MiB"]),
        (raw_gguf([arch_kv()], [raw_tensor_info("w", (1, 1, 1, 1, 1), 0, 0)]),
         ["5 dimensions"]),
        (raw_gguf([arch_kv()], [raw_tensor_info("w", (2**64 - 1,), 0, 0)]),
         ["negative dimension"]),
        (raw_gguf([arch_kv()], [_tensor(typ=4)]), ["unknown data type 4"]),
        (raw_gguf([arch_kv()], [_tensor(typ=99)]), ["unknown data type 99"]),
        (raw_gguf([arch_kv()], [_tensor(typ=12)]), ["not a multiple", "Q4_K block size 256"]),
        (raw_gguf([arch_kv()], [_tensor(off=32)]), ["'w' starts at data offset 32", "overlap"]),
        (raw_gguf([arch_kv()], [_tensor("a"), _tensor("b", off=16)]),
         ["'b' starts at data offset 16 but 64"]),
        (raw_gguf([arch_kv()], [_tensor("a"), _tensor("b", off=0)]), ["overlap"]),
        (raw_gguf([arch_kv()], [_tensor("a"), _tensor("a", off=64)]), ["'a' appears twice"]),
        (raw_gguf([arch_kv()], [_tensor("x" * 64)]), ["longer than 63 bytes"]),
        (raw_gguf([arch_kv()], n_kv=2_000_000), ["2,000,000 metadata entries"]),
    ],
)  # fmt: skip
def test_corrupt_headers(tmp_path: Path, data: bytes, words: list[str]) -> None:
    path = tmp_path / "bad.gguf"
    path.write_bytes(data + b"\0" * 256)
    _expect(path, CorruptGGUFError, *words)


def test_header_size_limit(tmp_path: Path) -> None:
    path = tmp_path / "big-header.gguf"
    path.write_bytes(raw_gguf([arch_kv(), raw_kv("blob", T_STRING, raw_string("x" * 5000))]))
    with pytest.raises(CorruptGGUFError, match="header would be larger than 1,024 bytes"):
        read_header(path, max_header_bytes=1024)
    assert read_header(path).get("blob") == "x" * 5000


# --------------------------------------------------------------------------- not loadable


def test_unknown_architecture(tmp_path: Path) -> None:
    path = write_unknown_arch(tmp_path / "odd.gguf")
    assert read_header(path).architecture == "hearth-imaginary"
    _expect(path, UnsupportedArchitectureError, "'hearth-imaginary'", validate=True)


def test_missing_architecture(tmp_path: Path) -> None:
    path = tmp_path / "noarch.gguf"
    path.write_bytes(raw_gguf([raw_kv("general.name", T_STRING, raw_string("x"))]))
    assert read_header(path).architecture == ""
    _expect(path, UnsupportedArchitectureError, "general.architecture", validate=True)


def test_mmproj_and_adapter(tmp_path: Path) -> None:
    info = [_tensor()]
    data = b"\0" * 64
    mmproj = tmp_path / "mmproj.gguf"
    mmproj.write_bytes(raw_gguf([arch_kv("clip")], info, data=data))
    assert is_mmproj(read_header(mmproj))
    _expect(mmproj, UnsupportedArchitectureError, "projector", validate=True)
    assert validate_model_file(mmproj, allow_mmproj=True).architecture == "clip"

    typed = tmp_path / "typed.gguf"
    typed.write_bytes(
        raw_gguf(
            [arch_kv(), raw_kv("general.type", T_STRING, raw_string("mmproj"))], info, data=data
        )
    )
    assert is_mmproj(read_header(typed))

    lora = tmp_path / "lora.gguf"
    lora.write_bytes(
        raw_gguf(
            [arch_kv(), raw_kv("general.type", T_STRING, raw_string("adapter"))], info, data=data
        )
    )
    _expect(lora, UnsupportedArchitectureError, "LoRA adapter", validate=True)


def test_no_tensors(tmp_path: Path) -> None:
    path = tmp_path / "vocab-only.gguf"
    path.write_bytes(raw_gguf([arch_kv()]))
    _expect(path, GGUFError, "no weights", validate=True)


# --------------------------------------------------------------------------- fuzz


def test_fuzz_flips_and_truncations(tiny: Path) -> None:
    """Random damage only ever yields a GGUFError (or a valid header), always quickly."""
    original = tiny.read_bytes()
    header_len = read_header(original).header_bytes
    rng = random.Random(1234)
    outcomes: dict[str, int] = {}
    for _ in range(400):
        data = bytearray(original[: rng.randrange(len(original))] if rng.random() < 0.2
                         else original)  # fmt: skip
        for _ in range(rng.choice((1, 1, 2, 4, 16))):
            if not data:
                break
            pos = rng.randrange(min(len(data), header_len + 64))
            if rng.random() < 0.3:  # craft a huge length/count
                data[pos : pos + 8] = rng.choice((b"\xff" * 8, b"\x00\x00\x00\x40" * 2))
            else:
                data[pos] ^= 1 << rng.randrange(8)
        start = time.perf_counter()
        try:
            read_header(bytes(data))
            outcome = "ok"
        except GGUFError as e:
            outcome = type(e).__name__
            assert str(e)
        assert time.perf_counter() - start < 2.0
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    assert outcomes.get("CorruptGGUFError", 0) > 20
    assert outcomes.get("TruncatedGGUFError", 0) > 20
