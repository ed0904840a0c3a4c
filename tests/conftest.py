"""Shared test setup: headless Qt, an isolated data root per test, and the starter model."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

STARTER_CACHE = Path(os.environ.get("HEARTH_TEST_CACHE", "/tmp/hearth-test-cache"))


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own data root; nothing touches the user's real one."""
    home = tmp_path / "hearth-home"
    monkeypatch.setenv("HEARTH_HOME", str(home))
    return home


@pytest.fixture(scope="session")
def starter_model_file() -> Path:
    """The real starter model (Gemma 3 270M Q4_K_M), assembled once per machine."""
    from app.backend.starter import install_starter, starter_path

    models = STARTER_CACHE / "models"
    path = starter_path(models)
    if not path.exists():
        try:
            install_starter(models)
        except Exception as exc:
            pytest.skip(f"starter model unavailable: {exc}")
    return path


@pytest.fixture
def home_with_starter(isolated_home: Path, starter_model_file: Path) -> Path:
    """A data root whose models folder holds the starter (linked, not copied)."""
    from app.backend.starter import starter_path

    target = starter_path(isolated_home / "models")
    target.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(starter_model_file, target)
    return isolated_home


@pytest.fixture
def tiny_model(tmp_path: Path) -> Iterator[Path]:
    """A tiny generated llama model that llama.cpp really loads (fast engine tests)."""
    from tests.helpers.gguf_factory import write_tiny_llama

    yield write_tiny_llama(tmp_path / "tiny" / "tiny-llama-F32.gguf")
