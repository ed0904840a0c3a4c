"""The models on disk: scanning folders, reading headers once, resolving references."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterable
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from app.backend.gguf import GGUFError, is_mmproj, read_header
from app.backend.library.ids import (
    IdCandidate,
    assign_ids,
    ollama_name,
    projector_rank,
    quant_from_name,
    split_part,
)

CACHE_VERSION = 1


@dataclass(frozen=True)
class LocalModel:
    """One model file (or the first part of a split model) in a models folder."""

    id: str
    path: Path
    size_bytes: int
    architecture: str
    name: str
    quantization: str
    n_params: int
    n_ctx_train: int
    has_chat_template: bool
    error: str | None = None
    projector: Path | None = None  # a vision projector (mmproj) in the same folder

    @property
    def ollama_name(self) -> str:
        return ollama_name(self.id)


class ModelNotFound(LookupError):
    """A model reference matched nothing (or more than one model)."""


@dataclass
class _HeaderFacts:
    size: int
    mtime_ns: int
    architecture: str
    name: str
    quantization: str
    n_params: int
    n_ctx_train: int
    has_chat_template: bool
    is_projector: bool
    error: str | None


class ModelLibrary:
    """Lists models across the models folders; header facts are cached by size and mtime."""

    def __init__(self, folders: list[Path], cache_file: Path | None = None) -> None:
        self.folders = [Path(f) for f in folders]
        self._cache_file = cache_file
        self._cache: dict[str, _HeaderFacts] = self._load_cache()
        self._dirty = False  # rewrite the cache file only when a header was (re)read
        self._lock = threading.RLock()  # the chat and models bridges scan from two threads

    def scan(self) -> list[LocalModel]:
        with self._lock:
            return self._scan()

    def _scan(self) -> list[LocalModel]:
        files: list[tuple[int, Path, Path]] = []
        for index, folder in enumerate(self.folders):
            if not folder.is_dir():
                continue
            for path in sorted(folder.rglob("*.gguf")):
                part = split_part(path.name)
                if part is not None and part[0] != 1:
                    continue
                if path.is_file():
                    files.append((index, folder, path))
        facts = {path: self._facts(path) for _, _, path in files}
        candidates = {
            IdCandidate(index, path.relative_to(folder), self._quant(path, facts[path])): path
            for index, folder, path in files
            if not facts[path].is_projector
        }
        ids = assign_ids(candidates)
        projectors = _projectors_by_folder(p for _, _, p in files if facts[p].is_projector)
        models = [
            replace(self._model(ids[c], path, facts[path]), projector=projectors.get(path.parent))
            for c, path in candidates.items()
        ]
        self._save_cache()
        return sorted(models, key=lambda m: m.id.lower())

    def resolve(self, reference: str) -> LocalModel:
        """Find a model by id, Ollama name, unambiguous id fragment or a .gguf path."""
        models = self.scan()
        candidate = Path(reference).expanduser()
        if reference.lower().endswith(".gguf") and candidate.is_file():
            resolved = candidate.resolve()
            for model in models:
                if model.path.resolve() == resolved:
                    return model
            facts = self._facts(resolved)
            return self._model(f"file/{resolved.stem}", resolved, facts)
        lowered = reference.lower()
        for matcher in (
            lambda m: m.id.lower() == lowered,
            lambda m: m.ollama_name == lowered or m.ollama_name == f"{lowered}:latest",
            lambda m: lowered in m.id.lower(),
        ):
            matches = [m for m in models if matcher(m)]
            if len(matches) == 1:
                return matches[0]
            if len(matches) > 1:
                listed = ", ".join(m.id for m in matches[:5])
                raise ModelNotFound(f"'{reference}' matches several models: {listed}")
        raise ModelNotFound(
            f"No model '{reference}' found. Run 'hearth ls' to see the installed models."
        )

    # ----------------------------------------------------------------- internals
    @staticmethod
    def _quant(path: Path, facts: _HeaderFacts) -> str | None:
        return quant_from_name(path.name) or (facts.quantization or None)

    @staticmethod
    def _model(model_id: str, path: Path, facts: _HeaderFacts) -> LocalModel:
        return LocalModel(
            id=model_id,
            path=path,
            size_bytes=facts.size,
            architecture=facts.architecture,
            name=facts.name or path.stem,
            quantization=facts.quantization,
            n_params=facts.n_params,
            n_ctx_train=facts.n_ctx_train,
            has_chat_template=facts.has_chat_template,
            error=facts.error,
        )

    def _facts(self, path: Path) -> _HeaderFacts:
        stat = path.stat()
        key = str(path)
        cached = self._cache.get(key)
        if cached and cached.size == stat.st_size and cached.mtime_ns == stat.st_mtime_ns:
            return cached
        try:
            header = read_header(path)
            facts = _HeaderFacts(
                size=stat.st_size,
                mtime_ns=stat.st_mtime_ns,
                architecture=header.architecture,
                name=header.name or "",
                quantization=header.quantization,
                n_params=header.n_params,
                n_ctx_train=header.n_ctx_train or 0,
                has_chat_template=bool(header.chat_template),
                is_projector=is_mmproj(header),
                error=None,
            )
        except GGUFError as exc:
            facts = _HeaderFacts(
                stat.st_size,
                stat.st_mtime_ns,
                "",
                "",
                quant_from_name(path.name) or "",
                0,
                0,
                False,
                False,
                str(exc),
            )
        self._cache[key] = facts
        self._dirty = True
        return facts

    def _load_cache(self) -> dict[str, _HeaderFacts]:
        if self._cache_file is None or not self._cache_file.exists():
            return {}
        try:
            data = json.loads(self._cache_file.read_text())
            if data.get("version") != CACHE_VERSION:
                return {}
            return {k: _HeaderFacts(**v) for k, v in data["files"].items()}
        except (OSError, ValueError, TypeError, KeyError):
            return {}

    def _save_cache(self) -> None:
        if self._cache_file is None or not self._dirty:
            return
        self._dirty = False
        payload = {
            "version": CACHE_VERSION,
            "files": {k: asdict(v) for k, v in self._cache.items()},
        }
        tmp = self._cache_file.with_suffix(".tmp")
        try:
            self._cache_file.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_text(json.dumps(payload))
            os.replace(tmp, self._cache_file)
        except OSError:
            pass  # the cache is an optimisation; a read-only disk must not break listing


def _projectors_by_folder(paths: Iterable[Path]) -> dict[Path, Path]:
    """One projector per folder (the library layout is one repo per folder), chosen by
    ``projector_rank`` as a download would pick it."""
    best: dict[Path, Path] = {}
    for path in sorted(paths):
        current = best.get(path.parent)
        if current is None or _projector_rank(path) < _projector_rank(current):
            best[path.parent] = path
    return best


def _projector_rank(path: Path) -> tuple[bool, int, str]:
    return projector_rank(quant_from_name(path.name), path.stat().st_size, path.name)
