"""Fast, bounded GGUF header reading and model-file validation (standard library only).

Used to show model details, plan memory and reject broken downloads before llama.cpp
ever sees a file. See ``reader`` for why this doesn't use ``gguf.GGUFReader``.
"""

from .arches import MMPROJ_ARCHITECTURES, SUPPORTED_ARCHITECTURES
from .errors import (
    CorruptGGUFError,
    GGUFError,
    NeedMoreData,
    NotGGUFError,
    TruncatedGGUFError,
    UnsupportedArchitectureError,
)
from .ggml_types import GGML_TYPE_NAMES, GGML_TYPE_SIZES, ggml_block_size, ggml_type_size
from .header import FILE_TYPE_NAMES, GGUFHeader, SkippedArray, TensorInfo, is_mmproj
from .reader import DEFAULT_MAX_HEADER_BYTES, read_header
from .source import ByteSource, BytesPrefixSource, BytesSource, FileSource
from .validate import validate_model_file

__all__ = [
    "DEFAULT_MAX_HEADER_BYTES",
    "FILE_TYPE_NAMES",
    "GGML_TYPE_NAMES",
    "GGML_TYPE_SIZES",
    "MMPROJ_ARCHITECTURES",
    "SUPPORTED_ARCHITECTURES",
    "ByteSource",
    "BytesPrefixSource",
    "BytesSource",
    "CorruptGGUFError",
    "FileSource",
    "GGUFError",
    "GGUFHeader",
    "NeedMoreData",
    "NotGGUFError",
    "SkippedArray",
    "TensorInfo",
    "TruncatedGGUFError",
    "UnsupportedArchitectureError",
    "ggml_block_size",
    "ggml_type_size",
    "is_mmproj",
    "read_header",
    "validate_model_file",
]
