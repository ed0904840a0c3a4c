"""ggml tensor types: names and storage sizes, needed to size tensors without reading them.

Values mirror ggml's ``type_traits`` (block size in elements, bytes per block) and are
cross-checked against ``gguf.GGML_QUANT_SIZES`` in the tests.
"""

from __future__ import annotations

# type id -> (name, elements per block, bytes per block)
_TYPES: dict[int, tuple[str, int, int]] = {
    0: ("F32", 1, 4),
    1: ("F16", 1, 2),
    2: ("Q4_0", 32, 18),
    3: ("Q4_1", 32, 20),
    6: ("Q5_0", 32, 22),
    7: ("Q5_1", 32, 24),
    8: ("Q8_0", 32, 34),
    9: ("Q8_1", 32, 40),
    10: ("Q2_K", 256, 84),
    11: ("Q3_K", 256, 110),
    12: ("Q4_K", 256, 144),
    13: ("Q5_K", 256, 176),
    14: ("Q6_K", 256, 210),
    15: ("Q8_K", 256, 292),
    16: ("IQ2_XXS", 256, 66),
    17: ("IQ2_XS", 256, 74),
    18: ("IQ3_XXS", 256, 98),
    19: ("IQ1_S", 256, 50),
    20: ("IQ4_NL", 32, 18),
    21: ("IQ3_S", 256, 110),
    22: ("IQ2_S", 256, 82),
    23: ("IQ4_XS", 256, 136),
    24: ("I8", 1, 1),
    25: ("I16", 1, 2),
    26: ("I32", 1, 4),
    27: ("I64", 1, 8),
    28: ("F64", 1, 8),
    29: ("IQ1_M", 256, 56),
    30: ("BF16", 1, 2),
    34: ("TQ1_0", 256, 54),
    35: ("TQ2_0", 256, 66),
    39: ("MXFP4", 32, 17),
    40: ("NVFP4", 64, 36),
    41: ("Q1_0", 128, 18),
    42: ("Q2_0", 64, 18),
}

GGML_TYPE_NAMES: dict[int, str] = {tid: name for tid, (name, _, _) in _TYPES.items()}
"""ggml type id -> upper-case name as llama.cpp prints it (``12 -> "Q4_K"``)."""

GGML_TYPE_SIZES: dict[int, tuple[int, int]] = {
    tid: (block, nbytes) for tid, (_, block, nbytes) in _TYPES.items()
}
"""ggml type id -> (elements per block, bytes per block)."""


def ggml_block_size(type_id: int) -> int:
    """Elements per block; a tensor row must be a multiple of it."""
    try:
        return GGML_TYPE_SIZES[type_id][0]
    except KeyError:
        raise ValueError(f"unknown ggml type {type_id}") from None


def ggml_type_size(type_id: int, n_elements: int) -> int:
    """Bytes needed to store ``n_elements`` values of ggml type ``type_id``.

    Raises ``ValueError`` for an unknown type or a count that isn't whole blocks.
    """
    try:
        block, nbytes = GGML_TYPE_SIZES[type_id]
    except KeyError:
        raise ValueError(f"unknown ggml type {type_id}") from None
    if n_elements < 0 or n_elements % block:
        raise ValueError(
            f"{n_elements} elements is not a whole number of {GGML_TYPE_NAMES[type_id]} "
            f"blocks of {block}"
        )
    return n_elements // block * nbytes
