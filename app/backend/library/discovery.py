"""Models the user already has from other tools, usable in place without copying.

* LM Studio keeps ``publisher/repo/file.gguf`` (our layout) in ``~/.lmstudio/models``
  (older versions: ``~/.cache/lm-studio/models``): added as an extra models folder.
* The Hugging Face cache (``~/.cache/huggingface/hub`` or ``HF_HUB_CACHE``/``HF_HOME``)
  keeps ``models--user--repo/snapshots/<rev>/file.gguf``: linked as ``user/repo/file.gguf``.
* Ollama keeps GGUF blobs without a ``.gguf`` name, found through its manifests: linked as
  ``ollama/<name>/<name>-<tag>.gguf``. Text-only models (Ollama also stores projectors
  and adapters as separate layers; only the model layer is linked).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

SourceKind = Literal["folder", "link"]
OLLAMA_MODEL_LAYER = "application/vnd.ollama.image.model"


@dataclass(frozen=True)
class FoundModel:
    path: Path  # the file as the other tool keeps it
    publisher: str
    repo: str
    file_name: str
    size: int


@dataclass(frozen=True)
class FoundSource:
    """One other tool's models; ``kind`` says how to use them in place."""

    tool: str
    folder: Path
    kind: SourceKind
    models: tuple[FoundModel, ...] = field(default_factory=tuple)

    @property
    def total_bytes(self) -> int:
        return sum(m.size for m in self.models)


def _home() -> Path:
    return Path(os.environ.get("HOME") or Path.home())


def lm_studio_folders(home: Path) -> list[Path]:
    return [home / ".lmstudio" / "models", home / ".cache" / "lm-studio" / "models"]


def hf_cache_folder(home: Path) -> Path:
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"])
    if os.environ.get("HF_HOME"):
        return Path(os.environ["HF_HOME"]) / "hub"
    return home / ".cache" / "huggingface" / "hub"


def ollama_folder(home: Path) -> Path:
    return (
        Path(os.environ["OLLAMA_MODELS"])
        if os.environ.get("OLLAMA_MODELS")
        else (home / ".ollama" / "models")
    )


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _scan_layout(folder: Path) -> tuple[FoundModel, ...]:
    found = []
    for p in sorted(folder.glob("*/*/*.gguf")):
        if p.is_file():
            found.append(FoundModel(p, p.parent.parent.name, p.parent.name, p.name, _size(p)))
    return tuple(found)


def _scan_hf_cache(folder: Path) -> tuple[FoundModel, ...]:
    found = []
    for repo_dir in sorted(folder.glob("models--*--*")):
        _, user, *rest = repo_dir.name.split("--")
        repo = "--".join(rest)
        snapshots = sorted(
            (repo_dir / "snapshots").glob("*"), key=lambda d: d.stat().st_mtime, reverse=True
        )
        seen: set[str] = set()
        for snap in snapshots:  # newest revision wins
            for p in sorted(snap.rglob("*.gguf")):
                if p.name not in seen and p.is_file():
                    seen.add(p.name)
                    found.append(FoundModel(p, user, repo, p.name, _size(p)))
    return tuple(found)


def _scan_ollama(folder: Path) -> tuple[FoundModel, ...]:
    found = []
    manifests = folder / "manifests"
    for manifest in sorted(manifests.rglob("*")) if manifests.is_dir() else []:
        if not manifest.is_file():
            continue
        try:
            doc = json.loads(manifest.read_text("utf-8"))
            layer = next(x for x in doc["layers"] if x.get("mediaType") == OLLAMA_MODEL_LAYER)
            blob = folder / "blobs" / str(layer["digest"]).replace(":", "-")
        except (OSError, ValueError, KeyError, StopIteration, TypeError):
            continue
        if not blob.is_file():
            continue
        name, tag = manifest.parent.name, manifest.name
        found.append(FoundModel(blob, "ollama", name, f"{name}-{tag}.gguf", _size(blob)))
    return tuple(found)


def find_other_tools(home: Path | None = None) -> list[FoundSource]:
    """Every other tool's models folder that holds at least one GGUF model."""
    home = home or _home()
    sources: list[FoundSource] = []
    for folder in lm_studio_folders(home):
        if folder.is_dir():
            models = _scan_layout(folder)
            if models:
                sources.append(FoundSource("LM Studio", folder, "folder", models))
    cache = hf_cache_folder(home)
    if cache.is_dir():
        models = _scan_hf_cache(cache)
        if models:
            sources.append(FoundSource("Hugging Face cache", cache, "link", models))
    ollama = ollama_folder(home)
    if ollama.is_dir():
        models = _scan_ollama(ollama)
        if models:
            sources.append(FoundSource("Ollama", ollama, "link", models))
    return sources


def link_in_place(source: FoundSource, models_folder: Path) -> list[Path]:
    """Symlink each found model into ``publisher/repo/file.gguf``; existing names are kept."""
    made = []
    for m in source.models:
        target = models_folder / m.publisher / m.repo / m.file_name
        if target.exists() or target.is_symlink():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(m.path.resolve(), target)
        made.append(target)
    return made
