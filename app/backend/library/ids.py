"""Model ids: one readable, stable name per local model file, used everywhere.

``publisher/repo/QUANT`` for files in the ``publisher/repo/file.gguf`` layout (the same shape
as a Hugging Face repo). Two files that would share an id are told apart by their file stem,
and a file present in two folders gets ``@2``, ``@3`` in folder order. The Ollama dialect
sees ``repo:quant`` in lower case.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

QUANT_PATTERN = re.compile(
    r"(?<![A-Za-z0-9])("
    r"I?Q[1-8]_(?:K_[SMLX]L?|K|[01]|NL|XXS|XS|S|M|L)|"
    r"IQ[1-4]_(?:XXS|XS|S|M|NL)|"
    r"TQ[12]_0|MXFP4(?:_MOE)?|BF16|F16|F32|FP16|FP32"
    r")(?![A-Za-z0-9])",
    re.IGNORECASE,
)
SPLIT_PATTERN = re.compile(r"-(\d{5})-of-(\d{5})$")


def quant_from_name(file_name: str) -> str | None:
    """The quantization named in a file name, e.g. ``Q4_K_M`` in ``gemma-3-q4_k_m.gguf``."""
    matches = QUANT_PATTERN.findall(Path(file_name).stem)
    return matches[-1].upper() if matches else None


def projector_rank(quant: str | None, size: int, name: str) -> tuple[bool, int, str]:
    """Which vision projector to prefer (smallest key first): F16, what llama.cpp's own
    model pages ship and load by default, then the smallest. Downloads and the library
    pick by this same rule, so a download finds the projector it brought."""
    return ((quant or "").upper() != "F16", size, name)


def split_part(file_name: str) -> tuple[int, int] | None:
    """``(part, total)`` for split files such as ``model-00001-of-00003.gguf``."""
    match = SPLIT_PATTERN.search(Path(file_name).stem)
    return (int(match.group(1)), int(match.group(2))) if match else None


def _strip_split(stem: str) -> str:
    return SPLIT_PATTERN.sub("", stem)


@dataclass(frozen=True)
class IdCandidate:
    """A file found under one models folder, before ids are assigned."""

    folder_index: int
    relative: Path
    quant: str | None

    @property
    def base(self) -> str:
        parts = self.relative.parts
        stem = _strip_split(self.relative.stem)
        if len(parts) >= 3:
            prefix = "/".join(parts[-3:-1])
        elif len(parts) == 2:
            prefix = f"local/{parts[0]}"
        else:
            prefix = f"local/{stem}"
        return f"{prefix}/{self.quant or stem}"

    @property
    def detailed(self) -> str:
        return self.base.rsplit("/", 1)[0] + "/" + _strip_split(self.relative.stem)


def assign_ids(candidates: Iterable[IdCandidate]) -> dict[IdCandidate, str]:
    """Give each candidate a unique id; deterministic for the same folders and files."""
    ordered = sorted(candidates, key=lambda c: (c.folder_index, c.relative.as_posix()))
    by_base: dict[str, list[IdCandidate]] = defaultdict(list)
    for candidate in ordered:
        by_base[candidate.base.lower()].append(candidate)
    named: dict[IdCandidate, str] = {}
    for group in by_base.values():
        distinct_files = {c.relative.as_posix().lower() for c in group}
        for candidate in group:
            named[candidate] = candidate.base if len(distinct_files) == 1 else candidate.detailed
    seen: dict[str, int] = defaultdict(int)
    result: dict[IdCandidate, str] = {}
    for candidate in ordered:
        model_id = named[candidate]
        seen[model_id.lower()] += 1
        count = seen[model_id.lower()]
        result[candidate] = model_id if count == 1 else f"{model_id}@{count}"
    return result


def ollama_name(model_id: str) -> str:
    """``publisher/repo/Q4_K_M`` → ``repo:q4_k_m`` (Ollama's ``name:tag``)."""
    parts = model_id.split("/")
    repo = parts[-2] if len(parts) >= 2 else parts[0]
    tag = parts[-1] if len(parts) >= 2 else "latest"
    return f"{repo}:{tag}".lower()
