"""A bounded, skipping GGUF header parser.

Why not ``gguf.GGUFReader``: it decodes every vocabulary entry and memory-maps the whole
file (about 9 s for a 262k-token vocabulary). This reader parses the same header in tens
of milliseconds by skipping big arrays, reads in large chunks, and checks every count and
length against sane bounds before trusting it, so a hostile or damaged file fails fast
with a clear ``GGUFError`` instead of hanging, exhausting memory or raising something odd.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path
from typing import Any

from .errors import CorruptGGUFError, GGUFError, NeedMoreData, NotGGUFError, TruncatedGGUFError
from .ggml_types import GGML_TYPE_NAMES, GGML_TYPE_SIZES
from .header import GGUFHeader, SkippedArray, TensorInfo
from .source import ByteSource, BytesSource, FileSource

GGUF_MAGIC = b"GGUF"
GGUF_VERSION = 3
DEFAULT_ALIGNMENT = 32
GGML_MAX_DIMS = 4
GGML_MAX_NAME = 64

DEFAULT_MAX_HEADER_BYTES = 256 * 1024 * 1024
MAX_STRING_BYTES = 64 * 1024 * 1024
MAX_KEY_BYTES = 64 * 1024
MAX_TENSORS = 1_000_000
MAX_KV = 1_000_000
MAX_TENSOR_ELEMENTS = 1 << 48
MAX_DECODED_ARRAY = 4096
"""Arrays longer than this (vocabularies, merges, scores) are skipped, not decoded."""

_CHUNK = 1 << 20

# GGUF value types
_T_STRING = 8
_T_ARRAY = 9
_SCALAR_FORMATS: dict[int, str] = {
    0: "B",
    1: "b",
    2: "H",
    3: "h",
    4: "I",
    5: "i",
    6: "f",
    7: "?",
    10: "Q",
    11: "q",
    12: "d",
}
_SCALAR_SIZES: dict[int, int] = {t: struct.calcsize("<" + f) for t, f in _SCALAR_FORMATS.items()}
_SCALAR_STRUCTS: dict[int, struct.Struct] = {
    t: struct.Struct("<" + f) for t, f in _SCALAR_FORMATS.items()
}
_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")

_MAGIC_HINTS: tuple[tuple[bytes, str], ...] = (
    (b"PK\x03\x04", "a ZIP archive"),
    (b"<!DOCTYPE", "a web page, probably an error page saved instead of the model"),
    (b"<!doctype", "a web page, probably an error page saved instead of the model"),
    (b"<html", "a web page, probably an error page saved instead of the model"),
    (b"<HTML", "a web page, probably an error page saved instead of the model"),
    (b"{", "a JSON file"),
    (b"version https://git-lfs", "a Git LFS pointer, not the model itself"),
    (b"lmgg", "an old GGML model; convert it to GGUF"),
    (b"fmgg", "an old GGMF model; convert it to GGUF"),
    (b"tjgg", "an old GGJT model; convert it to GGUF"),
    (b"\x89PNG", "a PNG image"),
    (b"\x1f\x8b", "a gzip archive"),
)


class _Cursor:
    """Sequential reader over a ``ByteSource`` that fetches large chunks and bounds reads."""

    def __init__(self, source: ByteSource, label: str, path: str | None, limit: int) -> None:
        self.source = source
        self.label = label
        self.path = path
        self.limit = limit
        self.buf = b""
        self.base = 0  # absolute offset of buf[0]
        self.pos = 0  # absolute read position
        self.what = "the file header"
        self.chunk = _CHUNK

    # -- errors ------------------------------------------------------------------
    def corrupt(self, problem: str) -> CorruptGGUFError:
        return CorruptGGUFError(
            f"{self.label} is damaged or not a valid model: {problem}.", path=self.path
        )

    def truncated(self, end: int) -> TruncatedGGUFError:
        return TruncatedGGUFError(
            f"{self.label} is incomplete: it ends at byte {end:,}, in the middle of "
            f"{self.what}. The download probably stopped early; download it again.",
            path=self.path,
        )

    # -- buffering ---------------------------------------------------------------
    def ensure(self, n: int) -> int:
        """Make ``n`` bytes at ``pos`` available; return their index into ``buf``."""
        i = self.pos - self.base
        if i >= 0 and i + n <= len(self.buf):
            return i
        return self._fill(n)

    def _fill(self, n: int) -> int:
        end = self.pos + n
        if end > self.limit:
            raise self.corrupt(
                f"its header would be larger than {self.limit:,} bytes (while reading {self.what})"
            )
        buf_end = self.base + len(self.buf)
        if self.base <= self.pos <= buf_end:
            keep = self.buf[self.pos - self.base :]
            start = buf_end
        else:
            keep = b""
            start = self.pos
        need = end - start
        want = min(max(need, self.chunk), self.limit - start)
        data = self._read(start, want, need)
        self.buf = keep + data
        self.base = self.pos
        if len(self.buf) < n:
            raise self.truncated(start + len(data))
        return 0

    def _read(self, start: int, want: int, need: int) -> bytes:
        while True:
            try:
                return self.source.read_at(start, want)
            except NeedMoreData:
                # A partial source: back off towards the bytes strictly needed, and keep
                # the smaller chunk so later reads near its end don't raise every time.
                if want <= need:
                    raise
                want = max(need, want // 2)
                self.chunk = want

    def check_reached(self) -> None:
        """After skips past the buffer, make sure the file really extends to ``pos``."""
        if self.pos > self.base + len(self.buf) and not self.source.read_at(self.pos - 1, 1):
            raise self.truncated(self.pos)

    # -- primitives --------------------------------------------------------------
    def u32(self) -> int:
        i = self.ensure(4)
        self.pos += 4
        return int(_U32.unpack_from(self.buf, i)[0])

    def u64(self) -> int:
        i = self.ensure(8)
        self.pos += 8
        return int(_U64.unpack_from(self.buf, i)[0])

    def raw(self, n: int) -> bytes:
        i = self.ensure(n)
        self.pos += n
        return self.buf[i : i + n]

    def string(self, max_len: int = MAX_STRING_BYTES) -> str:
        n = self.u64()
        if n > max_len:
            raise self.corrupt(f"{self.what} claims a text of {_fmt_size(n)}")
        return self.raw(n).decode("utf-8", errors="replace")

    def skip(self, n: int) -> None:
        if self.pos + n > self.limit:
            raise self.corrupt(
                f"its header would be larger than {self.limit:,} bytes (while reading {self.what})"
            )
        self.pos += n

    def skip_strings(self, count: int) -> None:
        """Skip ``count`` length-prefixed strings; the hot loop for big vocabularies."""
        unpack = _U64.unpack_from
        buf, base = self.buf, self.base
        i, end = self.pos - base, len(self.buf)
        for _ in range(count):
            if i < 0 or i + 8 > end:
                self.pos = base + i
                i = self.ensure(8)
                buf, base, end = self.buf, self.base, len(self.buf)
            n = unpack(buf, i)[0]
            if n > MAX_STRING_BYTES:
                self.pos = base + i
                raise self.corrupt(f"{self.what} claims a text of {_fmt_size(n)}")
            i += 8 + n
            if base + i > self.limit:
                raise self.corrupt(
                    f"its header would be larger than {self.limit:,} bytes "
                    f"(while reading {self.what})"
                )
        self.pos = base + i


def _fmt_size(n: int) -> str:
    size = float(n)
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if size < 1024 or unit == "PiB":
            return f"{n:,} bytes" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n:,} bytes"  # pragma: no cover


def _value_type_name(t: int) -> str:
    names = {_T_STRING: "string", _T_ARRAY: "array"}
    return names.get(t) or {
        0: "uint8", 1: "int8", 2: "uint16", 3: "int16", 4: "uint32", 5: "int32",
        6: "float32", 7: "bool", 10: "uint64", 11: "int64", 12: "float64",
    }.get(t, f"unknown type {t}")  # fmt: skip


def _read_value(cur: _Cursor, vtype: int, key: str) -> Any:
    fmt = _SCALAR_STRUCTS.get(vtype)
    if fmt is not None:
        i = cur.ensure(fmt.size)
        cur.pos += fmt.size
        return fmt.unpack_from(cur.buf, i)[0]
    if vtype == _T_STRING:
        return cur.string()
    if vtype == _T_ARRAY:
        return _read_array(cur, key)
    raise cur.corrupt(f"metadata key {key!r} has an unknown value type ({vtype})")


def _read_array(cur: _Cursor, key: str) -> Any:
    item_type = cur.u32()
    count = cur.u64()
    if item_type == _T_STRING:
        item_size = 8  # at least the length prefix
    elif item_type in _SCALAR_SIZES:
        item_size = _SCALAR_SIZES[item_type]
    else:
        raise cur.corrupt(
            f"metadata key {key!r} is an array of {_value_type_name(item_type)}, "
            "which GGUF does not allow"
        )
    if count * item_size > cur.limit - cur.pos:
        raise cur.corrupt(f"metadata key {key!r} claims an array of {count:,} items")
    start = cur.pos
    if count > MAX_DECODED_ARRAY:
        if item_type == _T_STRING:
            cur.skip_strings(count)
        else:
            cur.skip(count * item_size)
        return SkippedArray(item_type, count, start)
    if item_type == _T_STRING:
        return [cur.string() for _ in range(count)]
    fmt = _SCALAR_FORMATS[item_type]
    i = cur.ensure(count * item_size)
    cur.pos += count * item_size
    return list(struct.unpack_from(f"<{count}{fmt}", cur.buf, i))


def _check_magic(cur: _Cursor) -> None:
    cur.what = "the file signature"
    try:
        head = cur.source.read_at(0, 64)  # enough to recognise common wrong files
    except NeedMoreData:
        head = cur.source.read_at(0, 4)
    if head[:4] == GGUF_MAGIC:
        return
    if not head:
        raise NotGGUFError(f"{cur.label} is empty, not a GGUF model file.", path=cur.path)
    hint = ""
    for prefix, desc in _MAGIC_HINTS:
        if head.startswith(prefix):
            hint = f"; it looks like {desc}"
            break
    else:
        if len(head) >= 10 and head[8:10] == b'{"':
            hint = "; it looks like a safetensors file, which Hearth can't run directly"
    raise NotGGUFError(
        f"{cur.label} is not a GGUF model file (it starts with {head[:4]!r}{hint}).",
        path=cur.path,
    )


def _check_version(cur: _Cursor, version: int) -> None:
    if version == GGUF_VERSION or version == 2:
        return
    if version != 0 and version & 0xFFFF == 0:
        raise cur.corrupt("it was written in big-endian byte order, which this computer can't load")
    if version == 1:
        raise cur.corrupt("it uses GGUF version 1, which llama.cpp no longer supports")
    if version > GGUF_VERSION:
        raise cur.corrupt(
            f"it uses GGUF version {version}, newer than the supported version {GGUF_VERSION}"
        )
    raise cur.corrupt(f"it has an invalid GGUF version number ({version})")


def _read_metadata(cur: _Cursor, n_kv: int) -> dict[str, Any]:
    metadata: dict[str, Any] = {}
    for i in range(n_kv):
        cur.what = f"metadata entry {i + 1} of {n_kv}"
        key = cur.string(MAX_KEY_BYTES)
        if not key:
            raise cur.corrupt(f"metadata entry {i + 1} has an empty name")
        if key in metadata:
            raise cur.corrupt(f"metadata key {key!r} appears twice")
        cur.what = f"the value of metadata key {key!r}"
        vtype = cur.u32()
        if key == "general.alignment" and vtype != 4:
            raise cur.corrupt(
                f"general.alignment is a {_value_type_name(vtype)}, it must be a uint32"
            )
        metadata[key] = _read_value(cur, vtype, key)
    return metadata


def _read_tensor_infos(cur: _Cursor, n_tensors: int, alignment: int) -> tuple[TensorInfo, ...]:
    tensors: list[TensorInfo] = []
    seen: set[str] = set()
    expected_offset = 0
    for i in range(n_tensors):
        cur.what = f"the description of tensor {i + 1} of {n_tensors}"
        name = cur.string(MAX_KEY_BYTES)
        if len(name.encode("utf-8", errors="replace")) >= GGML_MAX_NAME:
            raise cur.corrupt(f"tensor {i + 1} has a name longer than {GGML_MAX_NAME - 1} bytes")
        if name in seen:
            raise cur.corrupt(f"tensor {name!r} appears twice")
        seen.add(name)
        cur.what = f"the description of tensor {name!r}"
        n_dims = cur.u32()
        if n_dims > GGML_MAX_DIMS:
            raise cur.corrupt(f"tensor {name!r} claims {n_dims:,} dimensions (at most 4)")
        shape = tuple(cur.u64() for _ in range(n_dims))
        n_elements = 1
        for dim in shape:
            if dim >= 1 << 63:
                raise cur.corrupt(f"tensor {name!r} has a negative dimension")
            n_elements *= dim
            if n_elements > MAX_TENSOR_ELEMENTS:
                raise cur.corrupt(f"tensor {name!r} claims an absurd shape {shape}")
        ggml_type = cur.u32()
        sizes = GGML_TYPE_SIZES.get(ggml_type)
        if sizes is None:
            raise cur.corrupt(
                f"tensor {name!r} uses unknown data type {ggml_type}; the file may need "
                "a newer llama.cpp"
            )
        block, block_bytes = sizes
        type_name = GGML_TYPE_NAMES[ggml_type]
        row = shape[0] if shape else 1
        if row % block:
            raise cur.corrupt(
                f"tensor {name!r} has rows of {row} values, not a multiple of the "
                f"{type_name} block size {block}"
            )
        nbytes = n_elements // block * block_bytes
        offset = cur.u64()
        if offset != expected_offset:
            raise cur.corrupt(
                f"tensor {name!r} starts at data offset {offset:,} but {expected_offset:,} "
                "was expected (tensors overlap, leave gaps or are misaligned)"
            )
        expected_offset += -(-nbytes // alignment) * alignment
        tensors.append(TensorInfo(name, shape, ggml_type, type_name, offset, nbytes))
    return tuple(tensors)


def parse_header(
    source: ByteSource,
    *,
    label: str = "The model file",
    path: str | None = None,
    max_header_bytes: int = DEFAULT_MAX_HEADER_BYTES,
) -> GGUFHeader:
    """Parse a GGUF header from ``source``; ``label`` names the file in error messages."""
    cur = _Cursor(source, label, path, max_header_bytes)
    _check_magic(cur)
    cur.pos = 4
    cur.what = "the file header"
    version = cur.u32()
    _check_version(cur, version)
    n_tensors = cur.u64()
    n_kv = cur.u64()
    if n_tensors > MAX_TENSORS:
        raise cur.corrupt(f"it claims {n_tensors:,} tensors")
    if n_kv > MAX_KV:
        raise cur.corrupt(f"it claims {n_kv:,} metadata entries")

    metadata = _read_metadata(cur, n_kv)
    alignment = metadata.get("general.alignment", DEFAULT_ALIGNMENT)
    if alignment <= 0 or alignment & (alignment - 1):
        raise cur.corrupt(f"its alignment ({alignment}) is not a power of two")

    tensors = _read_tensor_infos(cur, n_tensors, alignment)
    cur.what = "the end of the header"
    cur.check_reached()
    header_bytes = cur.pos
    data_offset = -(-header_bytes // alignment) * alignment if tensors else header_bytes
    return GGUFHeader(
        version=version,
        metadata=metadata,
        tensors=tensors,
        data_offset=data_offset,
        alignment=alignment,
        header_bytes=header_bytes,
    )


def _label_for(path: str | os.PathLike[str]) -> str:
    return f'"{Path(path).name or os.fspath(path)}"'


def open_file(path: str | os.PathLike[str]) -> FileSource:
    """Open ``path`` for reading, turning OS errors into a user-facing ``GGUFError``."""
    label = _label_for(path)
    try:
        return FileSource(path)
    except FileNotFoundError:
        raise GGUFError(f"{label} does not exist.", path=os.fspath(path)) from None
    except IsADirectoryError:
        raise GGUFError(f"{label} is a folder, not a model file.", path=os.fspath(path)) from None
    except PermissionError:
        raise GGUFError(
            f"{label} can't be read: permission denied.", path=os.fspath(path)
        ) from None
    except OSError as exc:
        raise GGUFError(
            f"{label} can't be read: {exc.strerror or exc}.", path=os.fspath(path)
        ) from None


def read_header(
    source: str | os.PathLike[str] | bytes | bytearray | memoryview | ByteSource,
    *,
    max_header_bytes: int = DEFAULT_MAX_HEADER_BYTES,
    label: str | None = None,
) -> GGUFHeader:
    """Read a GGUF header (metadata + tensor list) without touching tensor data.

    ``source`` is a file path, the whole file as bytes, or any ``ByteSource`` (use
    ``BytesPrefixSource`` for a partial download: it raises ``NeedMoreData``).
    Raises a ``GGUFError`` subclass with a user-facing message on any problem.
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        return parse_header(
            BytesSource(source), label=label or "The model file", max_header_bytes=max_header_bytes
        )
    if isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        with open_file(path) as src:
            try:
                return parse_header(
                    src, label=label or _label_for(path), path=path,
                    max_header_bytes=max_header_bytes,
                )  # fmt: skip
            except OSError as exc:
                raise GGUFError(
                    f"{label or _label_for(path)} can't be read: {exc.strerror or exc}.",
                    path=path,
                ) from None
    return parse_header(source, label=label or "The model file", max_header_bytes=max_header_bytes)
