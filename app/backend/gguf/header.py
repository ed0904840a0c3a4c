"""The parsed result of a GGUF header: metadata, tensor list and convenient summaries."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from math import prod
from typing import Any

from .arches import MMPROJ_ARCHITECTURES

# llama_ftype (general.file_type) -> the name people use for the quantization.
FILE_TYPE_NAMES: dict[int, str] = {
    0: "F32",
    1: "F16",
    2: "Q4_0",
    3: "Q4_1",
    7: "Q8_0",
    8: "Q5_0",
    9: "Q5_1",
    10: "Q2_K",
    11: "Q3_K_S",
    12: "Q3_K_M",
    13: "Q3_K_L",
    14: "Q4_K_S",
    15: "Q4_K_M",
    16: "Q5_K_S",
    17: "Q5_K_M",
    18: "Q6_K",
    19: "IQ2_XXS",
    20: "IQ2_XS",
    21: "Q2_K_S",
    22: "IQ3_XS",
    23: "IQ3_XXS",
    24: "IQ1_S",
    25: "IQ4_NL",
    26: "IQ3_S",
    27: "IQ3_M",
    28: "IQ2_S",
    29: "IQ2_M",
    30: "IQ4_XS",
    31: "IQ1_M",
    32: "BF16",
    36: "TQ1_0",
    37: "TQ2_0",
    38: "MXFP4_MOE",
    39: "NVFP4",
    40: "Q1_0",
    41: "Q2_0",
}
_FTYPE_GUESSED = 1024


@dataclass(frozen=True)
class SkippedArray:
    """Stands in for a large metadata array (e.g. the vocabulary) that was not decoded.

    Decoding a 262k-token vocabulary costs seconds; nothing before model load needs it.
    ``offset`` is the absolute file offset of the first item (-1 if unknown).
    """

    item_type: int
    length: int
    offset: int = -1

    def __len__(self) -> int:
        return self.length


@dataclass(frozen=True)
class TensorInfo:
    """One tensor's description; ``offset`` is relative to the start of the data section."""

    name: str
    shape: tuple[int, ...]
    ggml_type: int
    type_name: str
    offset: int
    nbytes: int

    @property
    def n_elements(self) -> int:
        return prod(self.shape)


@dataclass(frozen=True)
class GGUFHeader:
    """Everything in a GGUF file except the tensor data.

    ``data_offset`` is the absolute, aligned start of tensor data; ``header_bytes`` is
    where the tensor list ends, i.e. how many bytes must be fetched to parse the header.
    """

    version: int
    metadata: dict[str, Any]
    tensors: tuple[TensorInfo, ...]
    data_offset: int
    alignment: int
    header_bytes: int

    def get(self, key: str, default: Any = None) -> Any:
        """Metadata value for ``key`` (large arrays come back as ``SkippedArray``)."""
        return self.metadata.get(key, default)

    def arch_get(self, suffix: str, default: Any = None) -> Any:
        """Architecture-relative metadata: ``arch_get("block_count")`` -> ``{arch}.block_count``."""
        return self.metadata.get(f"{self.architecture}.{suffix}", default)

    @property
    def architecture(self) -> str:
        """``general.architecture`` ("" when the file doesn't say)."""
        value = self.metadata.get("general.architecture")
        return value if isinstance(value, str) else ""

    @property
    def name(self) -> str | None:
        value = self.metadata.get("general.name")
        return value if isinstance(value, str) else None

    @property
    def file_type(self) -> int | None:
        value = self.metadata.get("general.file_type")
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    @property
    def quantization(self) -> str:
        """Quantization label such as ``"Q4_K_M"``.

        From ``general.file_type`` when present and known, else the ggml type holding
        most weights in the multi-dimensional tensors (e.g. ``"Q4_K"``), else ``"unknown"``.
        """
        ftype = self.file_type
        if ftype is not None:
            label = FILE_TYPE_NAMES.get(ftype & ~_FTYPE_GUESSED)
            if label is not None:
                return label
        weights: Counter[str] = Counter()
        for t in self.tensors:
            if len(t.shape) >= 2:
                weights[t.type_name] += t.n_elements
        if not weights:
            for t in self.tensors:
                weights[t.type_name] += t.n_elements
        return weights.most_common(1)[0][0] if weights else "unknown"

    @property
    def n_params(self) -> int:
        """Total number of weights (sum of tensor element counts)."""
        return sum(t.n_elements for t in self.tensors)

    @property
    def n_layers(self) -> int | None:
        return _as_int(self.arch_get("block_count"))

    @property
    def n_ctx_train(self) -> int | None:
        return _as_int(self.arch_get("context_length"))

    @property
    def chat_template(self) -> str | None:
        value = self.metadata.get("tokenizer.chat_template")
        return value if isinstance(value, str) else None

    @property
    def tensor_bytes(self) -> int:
        """Bytes of tensor data (without alignment padding)."""
        return sum(t.nbytes for t in self.tensors)

    @property
    def data_end(self) -> int:
        """Absolute offset where the last tensor's data ends: the minimum file size."""
        return self.data_offset + max((t.offset + t.nbytes for t in self.tensors), default=0)


def is_mmproj(header: GGUFHeader) -> bool:
    """True for a multimodal projector (vision/audio encoder) rather than a language model."""
    return header.get("general.type") == "mmproj" or header.architecture in MMPROJ_ARCHITECTURES


def _as_int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
