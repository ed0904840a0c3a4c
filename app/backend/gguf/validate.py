"""Fast pre-flight check of a model file before handing it to llama.cpp.

llama.cpp reports a broken file with a crash or a cryptic log line; checking the header,
the file size and the architecture up front lets the UI say exactly what is wrong.
"""

from __future__ import annotations

import os

from .arches import SUPPORTED_ARCHITECTURES
from .errors import GGUFError, TruncatedGGUFError, UnsupportedArchitectureError
from .header import GGUFHeader, is_mmproj
from .reader import DEFAULT_MAX_HEADER_BYTES, _fmt_size, _label_for, open_file, parse_header


def validate_model_file(
    path: str | os.PathLike[str],
    *,
    allow_mmproj: bool = False,
    max_header_bytes: int = DEFAULT_MAX_HEADER_BYTES,
) -> GGUFHeader:
    """Read the header of ``path`` and check that llama.cpp can load it as a model.

    Checks that the file is long enough for every tensor (catches partial downloads)
    and that the architecture is one llama.cpp knows. Never reads tensor data.
    ``allow_mmproj`` accepts vision projector files (used next to a model).
    """
    fspath = os.fspath(path)
    label = _label_for(fspath)
    with open_file(fspath) as src:
        try:
            header = parse_header(src, label=label, path=fspath, max_header_bytes=max_header_bytes)
        except OSError as exc:
            raise GGUFError(f"{label} can't be read: {exc.strerror or exc}.", path=fspath) from None
        size = src.size

    end = header.data_end
    if size < end:
        raise TruncatedGGUFError(
            f"{label} is incomplete: it is {_fmt_size(size)} but its tensor data needs "
            f"{_fmt_size(end)} ({_fmt_size(end - size)} missing). The download probably "
            "stopped early; download it again.",
            path=fspath,
        )

    if is_mmproj(header):
        if allow_mmproj:
            return header
        raise UnsupportedArchitectureError(
            f"{label} is a vision/audio projector (mmproj) file, not a language model. "
            "Load the model itself and add this file as its projector.",
            path=fspath,
        )
    if header.get("general.type") == "adapter":
        raise UnsupportedArchitectureError(
            f"{label} is a LoRA adapter, not a complete model. Load its base model instead.",
            path=fspath,
        )
    arch = header.architecture
    if not arch:
        raise UnsupportedArchitectureError(
            f"{label} does not say which model architecture it uses "
            "(general.architecture is missing), so it can't be loaded.",
            path=fspath,
        )
    if arch not in SUPPORTED_ARCHITECTURES:
        raise UnsupportedArchitectureError(
            f"{label} uses the model architecture {arch!r}, which the bundled llama.cpp "
            "does not support. A newer version of Hearth may be able to run it.",
            path=fspath,
        )
    if not header.tensors:
        raise GGUFError(
            f"{label} contains no weights (it may be a vocabulary-only file), so it can't "
            "be loaded as a model.",
            path=fspath,
        )
    return header
