"""A repo's GGUF files as a user thinks of them: one entry per model file or split set.

``model-Q4_K_M-00001-of-00003.gguf`` and its two siblings are one download of one model;
``mmproj-*.gguf`` files are vision/audio projectors that go next to a model.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import PurePosixPath

from app.backend.hub.names import UnsafeFilename, validate_remote_filename
from app.backend.library.ids import SPLIT_PATTERN, quant_from_name, split_part


@dataclass(frozen=True)
class RemoteFile:
    """One file of a repo: path in the repo, size and (for LFS files) its sha256."""

    path: str
    size: int
    sha256: str | None = None

    @property
    def name(self) -> str:
        return PurePosixPath(self.path).name


@dataclass(frozen=True)
class GGUFEntry:
    """A downloadable model: one file, or all parts of a split model, in part order."""

    label: str
    quant: str
    parts: tuple[RemoteFile, ...]
    is_mmproj: bool = False

    @property
    def size(self) -> int:
        return sum(p.size for p in self.parts)

    @property
    def first(self) -> RemoteFile:
        return self.parts[0]

    @property
    def is_split(self) -> bool:
        return len(self.parts) > 1

    @property
    def complete(self) -> bool:
        """False when some parts of a split set are missing from the repo."""
        expected = split_part(self.first.name)
        return expected is None or expected[1] == len(self.parts)


def is_mmproj_name(name: str) -> bool:
    return "mmproj" in PurePosixPath(name).name.lower()


def group_gguf_files(files: Iterable[RemoteFile]) -> tuple[list[GGUFEntry], list[str]]:
    """Group ``.gguf`` files into entries; returns (entries, refused names).

    Names that fail ``validate_remote_filename`` are refused, never grouped.
    """
    groups: dict[str, list[tuple[int, RemoteFile]]] = defaultdict(list)
    refused: list[str] = []
    for f in files:
        if not f.path.lower().endswith(".gguf"):
            continue
        try:
            validate_remote_filename(f.path)
        except UnsafeFilename:
            refused.append(f.path)
            continue
        part = split_part(f.name)
        stem = PurePosixPath(f.path).with_suffix("").as_posix()
        key = SPLIT_PATTERN.sub("", stem) if part else stem
        groups[key].append((part[0] if part else 0, f))
    entries = []
    for key, members in groups.items():
        members.sort(key=lambda m: m[0])
        parts = tuple(m[1] for m in members)
        label = PurePosixPath(key).name + ".gguf"
        quant = quant_from_name(label) or quant_from_name(key.replace("/", "-")) or "?"
        entries.append(GGUFEntry(label, quant, parts, is_mmproj_name(label)))
    entries.sort(key=lambda e: (e.is_mmproj, e.size, e.label))
    return entries, refused
