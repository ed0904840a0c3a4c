"""Write GGUF files for tests: tiny models llama.cpp really loads, bigger ones of any shape
for the planner, and hostile/damaged files for the header reader.

Uses the ``gguf`` package (a dev dependency); the app itself never imports it.
"""

from __future__ import annotations

import itertools
import os
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from gguf import GGML_QUANT_SIZES, GGMLQuantizationType, GGUFWriter, TokenType
from gguf import quants as gguf_quants

SUPPORTED_FACTORY_ARCHES = ("llama", "gemma3", "qwen2")
N_SPECIAL_TOKENS = 3  # <unk>, <s>, </s>
MIN_VOCAB = N_SPECIAL_TOKENS + 256 + 1  # specials, byte fallback, "▁"
DEFAULT_VOCAB = 384

# weight type -> llama_ftype written as general.file_type
_FILE_TYPES: dict[str, int] = {
    "F32": 0, "F16": 1, "Q4_0": 2, "Q4_1": 3, "Q8_0": 7, "Q5_0": 8, "Q5_1": 9,
    "Q2_K": 10, "Q3_K": 12, "Q4_K": 15, "Q5_K": 17, "Q6_K": 18, "IQ4_NL": 25,
    "IQ4_XS": 30, "BF16": 32, "TQ1_0": 36, "TQ2_0": 37,
}  # fmt: skip

_RANDOM_LIMIT = 4_000_000  # tensors bigger than this get a cheap tiled fill


@dataclass
class ModelSpec:
    """Shape and contents of a synthetic model.

    ``dtype`` is the ggml type of the 2-D weights ("F32", "F16", "BF16", "Q8_0", "Q4_K",
    ...); norms and biases always stay F32 like real conversions. Quantized rows must be
    a multiple of the type's block size (256 for K-quants). ``head_dim`` defaults to
    ``n_embd // n_head``; ``n_ff`` to ``4 * n_embd``. ``sliding_window`` applies to gemma3
    (default 512 there). ``tied_embeddings`` drops ``output.weight`` (always for gemma3).
    ``fill``: "random" (seeded), "zeros", or "auto" (random for small tensors, a cheap
    tiled pattern for big ones so 200 MB+ files write in about a second).
    """

    arch: str = "llama"
    n_layers: int = 2
    n_embd: int = 64
    n_head: int = 4
    n_head_kv: int = 2
    head_dim: int | None = None
    n_ff: int | None = None
    n_vocab: int = DEFAULT_VOCAB
    n_ctx_train: int = 512
    sliding_window: int | None = None
    rope_freq_base: float = 10000.0
    rms_eps: float = 1e-6
    dtype: str = "F32"
    tied_embeddings: bool = False
    chat_template: str | None = None
    name: str = "Tiny Llama"
    fill: str = "auto"
    seed: int = 0
    extra_metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def k_dim(self) -> int:
        return self.head_dim if self.head_dim is not None else self.n_embd // self.n_head

    @property
    def ff_dim(self) -> int:
        return self.n_ff if self.n_ff is not None else 4 * self.n_embd


# --------------------------------------------------------------------------- tokenizer


def _pieces() -> Iterable[str]:
    """Endless stream of distinct SentencePiece-style pieces, short ones first."""
    yield "▁"
    printable = [chr(c) for c in range(33, 127)]
    yield from printable
    letters = "abcdefghijklmnopqrstuvwxyz"
    yield from ("▁" + c for c in letters + letters.upper() + "0123456789")
    for n in itertools.count(2):
        for combo in itertools.product(letters, repeat=n):
            word = "".join(combo)
            yield "▁" + word
            yield word


def spm_vocab(n_vocab: int) -> tuple[list[str], list[float], list[int]]:
    """An SPM ("llama") vocabulary: specials, all 256 byte-fallback tokens, then pieces.

    Byte fallback makes every input text tokenizable, which llama.cpp needs at load time
    (it looks up the newline token) and when prompting.
    """
    if n_vocab < MIN_VOCAB:
        raise ValueError(f"n_vocab must be at least {MIN_VOCAB} (specials + 256 byte tokens)")
    tokens = ["<unk>", "<s>", "</s>"] + [f"<0x{b:02X}>" for b in range(256)]
    types = [TokenType.UNKNOWN, TokenType.CONTROL, TokenType.CONTROL] + [TokenType.BYTE] * 256
    scores = [0.0] * len(tokens)
    for i, piece in enumerate(itertools.islice(_pieces(), n_vocab - len(tokens))):
        tokens.append(piece)
        types.append(TokenType.NORMAL)
        scores.append(-1.0 - i / 100.0)
    return tokens, scores, [int(t) for t in types]


def _add_tokenizer(w: GGUFWriter, spec: ModelSpec) -> None:
    tokens, scores, types = spm_vocab(spec.n_vocab)
    w.add_tokenizer_model("llama")
    w.add_tokenizer_pre("default")
    w.add_token_list(tokens)
    w.add_token_scores(scores)
    w.add_token_types(types)
    w.add_unk_token_id(0)
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    w.add_pad_token_id(0)
    w.add_add_bos_token(True)
    w.add_add_eos_token(False)
    if spec.chat_template is not None:
        w.add_chat_template(spec.chat_template)


# --------------------------------------------------------------------------- tensors


class _Filler:
    """Produces weight arrays: seeded random when small, a tiled random block when big."""

    def __init__(self, spec: ModelSpec) -> None:
        self.spec = spec
        self.rng = np.random.default_rng(spec.seed)
        self._block = self.rng.standard_normal(1 << 16, dtype=np.float32) * 0.02

    def weights(self, rows: int, cols: int) -> np.ndarray:
        n = rows * cols
        if self.spec.fill == "zeros":
            return np.zeros((rows, cols), dtype=np.float32)
        if self.spec.fill == "random" or (self.spec.fill == "auto" and n <= _RANDOM_LIMIT):
            return (self.rng.standard_normal(n, dtype=np.float32) * 0.02).reshape(rows, cols)
        return np.resize(self._block, (rows, cols))

    def norm(self, n: int, value: float = 1.0) -> np.ndarray:
        return np.full(n, value, dtype=np.float32)


def _weight_type(dtype: str) -> GGMLQuantizationType:
    try:
        return GGMLQuantizationType[dtype.upper()]
    except KeyError:
        raise ValueError(f"unknown ggml type {dtype!r}") from None


def _add_matrix(w: GGUFWriter, fill: _Filler, name: str, rows: int, cols: int) -> None:
    """Add a 2-D weight of numpy shape (rows, cols), i.e. ggml shape (cols, rows)."""
    qtype = _weight_type(fill.spec.dtype)
    if qtype == GGMLQuantizationType.F32:
        w.add_tensor(name, fill.weights(rows, cols))
        return
    if qtype == GGMLQuantizationType.F16:
        w.add_tensor(name, fill.weights(rows, cols).astype(np.float16))
        return
    block, type_size = GGML_QUANT_SIZES[qtype]
    if cols % block:
        raise ValueError(f"{name}: row of {cols} is not a multiple of {qtype.name} block {block}")
    row_bytes = cols // block * type_size
    if fill.spec.fill != "zeros" and rows * cols <= _RANDOM_LIMIT:
        try:
            data = gguf_quants.quantize(fill.weights(rows, cols), qtype)
        except NotImplementedError:
            data = np.zeros((rows, row_bytes), dtype=np.uint8)
    else:
        data = np.zeros((rows, row_bytes), dtype=np.uint8)  # all-zero scales: valid blocks
    w.add_tensor(name, data, raw_dtype=qtype)


def _add_tensors(w: GGUFWriter, spec: ModelSpec) -> None:
    fill = _Filler(spec)
    e, q_dim = spec.n_embd, spec.n_head * spec.k_dim
    kv_dim, ff = spec.n_head_kv * spec.k_dim, spec.ff_dim
    gemma = spec.arch == "gemma3"
    _add_matrix(w, fill, "token_embd.weight", spec.n_vocab, e)
    w.add_tensor("output_norm.weight", fill.norm(e))
    if not (gemma or spec.tied_embeddings):
        _add_matrix(w, fill, "output.weight", spec.n_vocab, e)
    for i in range(spec.n_layers):
        p = f"blk.{i}"
        w.add_tensor(f"{p}.attn_norm.weight", fill.norm(e))
        _add_matrix(w, fill, f"{p}.attn_q.weight", q_dim, e)
        _add_matrix(w, fill, f"{p}.attn_k.weight", kv_dim, e)
        _add_matrix(w, fill, f"{p}.attn_v.weight", kv_dim, e)
        if spec.arch == "qwen2":
            w.add_tensor(f"{p}.attn_q.bias", np.zeros(q_dim, dtype=np.float32))
            w.add_tensor(f"{p}.attn_k.bias", np.zeros(kv_dim, dtype=np.float32))
            w.add_tensor(f"{p}.attn_v.bias", np.zeros(kv_dim, dtype=np.float32))
        if gemma:
            w.add_tensor(f"{p}.attn_q_norm.weight", fill.norm(spec.k_dim))
            w.add_tensor(f"{p}.attn_k_norm.weight", fill.norm(spec.k_dim))
        _add_matrix(w, fill, f"{p}.attn_output.weight", e, q_dim)
        if gemma:
            w.add_tensor(f"{p}.post_attention_norm.weight", fill.norm(e))
        w.add_tensor(f"{p}.ffn_norm.weight", fill.norm(e))
        _add_matrix(w, fill, f"{p}.ffn_gate.weight", ff, e)
        _add_matrix(w, fill, f"{p}.ffn_up.weight", ff, e)
        _add_matrix(w, fill, f"{p}.ffn_down.weight", e, ff)
        if gemma:
            w.add_tensor(f"{p}.post_ffw_norm.weight", fill.norm(e))


# --------------------------------------------------------------------------- models


def write_model(path: str | os.PathLike[str], spec: ModelSpec) -> Path:
    """Write a complete model for ``spec.arch`` in {"llama", "gemma3", "qwen2"}."""
    if spec.arch not in SUPPORTED_FACTORY_ARCHES:
        raise ValueError(f"arch must be one of {SUPPORTED_FACTORY_ARCHES}, not {spec.arch!r}")
    if spec.n_head % spec.n_head_kv:
        raise ValueError("n_head must be a multiple of n_head_kv")
    if spec.arch == "qwen2" and spec.n_head * spec.k_dim != spec.n_embd:
        raise ValueError("qwen2 needs n_head * head_dim == n_embd")
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    arch = spec.arch
    w = GGUFWriter(out, arch)
    w.add_type("model")
    w.add_name(spec.name)
    w.add_context_length(spec.n_ctx_train)
    w.add_embedding_length(spec.n_embd)
    w.add_block_count(spec.n_layers)
    w.add_feed_forward_length(spec.ff_dim)
    w.add_head_count(spec.n_head)
    w.add_head_count_kv(spec.n_head_kv)
    w.add_layer_norm_rms_eps(spec.rms_eps)
    w.add_rope_freq_base(spec.rope_freq_base)
    w.add_vocab_size(spec.n_vocab)
    if arch == "gemma3":
        w.add_key_length(spec.k_dim)
        w.add_value_length(spec.k_dim)
        w.add_sliding_window(spec.sliding_window if spec.sliding_window is not None else 512)
    else:
        w.add_rope_dimension_count(spec.k_dim)
        if spec.head_dim is not None:
            w.add_key_length(spec.k_dim)
            w.add_value_length(spec.k_dim)
    qtype = _weight_type(spec.dtype)
    if qtype.name in _FILE_TYPES:
        w.add_file_type(_FILE_TYPES[qtype.name])
    w.add_quantization_version(2)
    for key, value in spec.extra_metadata.items():
        _add_any(w, key, value)
    _add_tokenizer(w, spec)
    _add_tensors(w, spec)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return out


def _add_any(w: GGUFWriter, key: str, value: Any) -> None:
    if isinstance(value, bool):
        w.add_bool(key, value)
    elif isinstance(value, int):
        w.add_uint32(key, value) if value >= 0 else w.add_int32(key, value)
    elif isinstance(value, float):
        w.add_float32(key, value)
    elif isinstance(value, str):
        w.add_string(key, value)
    else:
        w.add_array(key, list(value))


def write_tiny_llama(
    path: str | os.PathLike[str],
    *,
    n_layers: int = 2,
    n_embd: int = 64,
    n_head: int = 4,
    n_head_kv: int = 2,
    n_vocab: int = DEFAULT_VOCAB,
    n_ctx_train: int = 512,
    arch: str = "llama",
    chat_template: str | None = None,
    name: str = "Tiny Llama",
    dtype: str | type[np.floating[Any]] = "F32",
    seed: int = 0,
) -> Path:
    """A tiny model (~0.3 MB) that llama.cpp loads and generates with (nonsense) text.

    ``n_vocab`` must be >= 260: the vocabulary always has 256 byte-fallback tokens.
    ``dtype``: "F32"/"F16" (or np.float32/np.float16) or any type ``ModelSpec`` takes.
    """
    if not isinstance(dtype, str):
        dtype = {np.float32: "F32", np.float16: "F16"}[dtype]
    spec = ModelSpec(
        arch=arch,
        n_layers=n_layers,
        n_embd=n_embd,
        n_head=n_head,
        n_head_kv=n_head_kv,
        n_vocab=n_vocab,
        n_ctx_train=n_ctx_train,
        chat_template=chat_template,
        name=name,
        dtype=dtype,
        fill="random",
        seed=seed,
    )
    return write_model(path, spec)


# --------------------------------------------------------------------------- hostile files

# GGUF value type ids
T_UINT32, T_FLOAT32, T_BOOL, T_STRING, T_ARRAY, T_UINT64 = 4, 6, 7, 8, 9, 10


def raw_string(s: str | bytes) -> bytes:
    """A GGUF string: u64 length + bytes."""
    data = s.encode() if isinstance(s, str) else s
    return struct.pack("<Q", len(data)) + data


def raw_kv(key: str, vtype: int, payload: bytes) -> bytes:
    """One metadata entry with an already-encoded value payload."""
    return raw_string(key) + struct.pack("<I", vtype) + payload


def raw_tensor_info(name: str, shape: Sequence[int], ggml_type: int, offset: int) -> bytes:
    """One tensor-info record (shape in ggml order)."""
    dims = b"".join(struct.pack("<Q", d) for d in shape)
    return (
        raw_string(name)
        + struct.pack("<I", len(shape))
        + dims
        + struct.pack("<IQ", ggml_type, offset)
    )


def raw_gguf(
    kvs: Sequence[bytes] = (),
    tensor_infos: Sequence[bytes] = (),
    *,
    version: int = 3,
    n_kv: int | None = None,
    n_tensors: int | None = None,
    data: bytes = b"",
    alignment: int = 32,
) -> bytes:
    """Hand-assemble a GGUF file; counts may be overridden to lie about the contents."""
    head = b"GGUF" + struct.pack(
        "<IQQ",
        version,
        len(tensor_infos) if n_tensors is None else n_tensors,
        len(kvs) if n_kv is None else n_kv,
    )
    body = head + b"".join(kvs) + b"".join(tensor_infos)
    if tensor_infos or data:
        body += b"\0" * (-len(body) % alignment)
    return body + data


def arch_kv(arch: str = "llama") -> bytes:
    return raw_kv("general.architecture", T_STRING, raw_string(arch))


def write_not_gguf(path: str | os.PathLike[str], content: bytes | None = None) -> Path:
    """A file that is not GGUF (default: the start of a ZIP archive)."""
    out = Path(path)
    out.write_bytes(b"PK\x03\x04\x14\x00\x00\x00" + b"\0" * 56 if content is None else content)
    return out


def write_truncated(
    src: str | os.PathLike[str], dst: str | os.PathLike[str], keep_bytes: int
) -> Path:
    """Copy the first ``keep_bytes`` bytes of ``src`` to ``dst`` (an interrupted download)."""
    with open(src, "rb") as f:
        data = f.read(keep_bytes)
    out = Path(dst)
    out.write_bytes(data)
    return out


def write_absurd_counts(path: str | os.PathLike[str], kind: str = "tensors") -> Path:
    """A header that lies about sizes.

    kind: "tensors" (2**62 tensors), "kv" (2**62 metadata entries), "string" (a 2**40-byte
    string), "array" (an array of 2**50 items), "dims" (a tensor with 2**62 elements).
    """
    out = Path(path)
    if kind == "tensors":
        data = raw_gguf([arch_kv()], n_tensors=2**62)
    elif kind == "kv":
        data = raw_gguf([arch_kv()], n_kv=2**62)
    elif kind == "string":
        bad = raw_kv("general.name", T_STRING, struct.pack("<Q", 2**40) + b"x" * 64)
        data = raw_gguf([arch_kv(), bad])
    elif kind == "array":
        bad = raw_kv("tokenizer.ggml.scores", T_ARRAY, struct.pack("<IQ", T_FLOAT32, 2**50))
        data = raw_gguf([arch_kv(), bad])
    elif kind == "dims":
        info = raw_tensor_info("token_embd.weight", [2**31, 2**31], 0, 0)
        data = raw_gguf([arch_kv()], [info])
    else:
        raise ValueError(f"unknown kind {kind!r}")
    out.write_bytes(data)
    return out


def write_unknown_arch(path: str | os.PathLike[str], arch: str = "hearth-imaginary") -> Path:
    """A well-formed tiny model whose architecture llama.cpp has never heard of."""
    spec = ModelSpec(arch="llama", n_layers=1, n_embd=32, n_head=2, n_head_kv=1, fill="zeros")
    out = Path(path)
    w = GGUFWriter(out, arch)
    w.add_type("model")
    w.add_name("Imaginary")
    w.add_block_count(1)
    fill = _Filler(spec)
    _add_matrix(w, fill, "token_embd.weight", spec.n_vocab, spec.n_embd)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return out
