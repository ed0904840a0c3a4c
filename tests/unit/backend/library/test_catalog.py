import shutil
from pathlib import Path

import pytest

from app.backend.library import ModelLibrary, ModelNotFound
from tests.helpers.gguf_factory import write_not_gguf, write_tiny_llama


def test_scan_lists_models_with_header_facts(tmp_path: Path) -> None:
    models = tmp_path / "models"
    write_tiny_llama(models / "acme" / "tiny-llama" / "tiny-llama-F32.gguf")
    listed = ModelLibrary([models]).scan()
    assert [m.id for m in listed] == ["acme/tiny-llama/F32"]
    assert listed[0].architecture == "llama"
    assert listed[0].n_params > 0
    assert listed[0].error is None


def test_broken_file_is_listed_with_its_error_not_a_crash(tmp_path: Path) -> None:
    models = tmp_path / "models"
    (models / "acme" / "junk").mkdir(parents=True)
    write_not_gguf(models / "acme" / "junk" / "junk-Q4_0.gguf")
    (listed,) = ModelLibrary([models]).scan()
    assert listed.error and "not a GGUF" in listed.error


def test_resolve_by_id_ollama_name_fragment_and_path(tmp_path: Path) -> None:
    models = tmp_path / "models"
    path = write_tiny_llama(models / "acme" / "tiny-llama" / "tiny-llama-F32.gguf")
    library = ModelLibrary([models])
    assert library.resolve("acme/tiny-llama/F32").path == path
    assert library.resolve("tiny-llama:f32").path == path
    assert library.resolve("tiny").path == path
    assert library.resolve(str(path)).id == "acme/tiny-llama/F32"
    with pytest.raises(ModelNotFound, match="hearth ls"):
        library.resolve("nothing-like-this")


def test_ambiguous_reference_names_the_candidates(tmp_path: Path) -> None:
    models = tmp_path / "models"
    src = write_tiny_llama(models / "acme" / "tiny" / "tiny-F32.gguf")
    shutil.copy(src, models / "acme" / "tiny" / "tiny-F16.gguf")
    with pytest.raises(ModelNotFound, match="several"):
        ModelLibrary([models]).resolve("acme/tiny")


def test_header_cache_is_reused_and_invalidated_on_change(tmp_path: Path) -> None:
    models = tmp_path / "models"
    cache = tmp_path / "cache.json"
    path = write_tiny_llama(models / "acme" / "tiny" / "tiny-F32.gguf")
    ModelLibrary([models], cache_file=cache).scan()
    assert cache.exists()
    write_not_gguf(path)
    (listed,) = ModelLibrary([models], cache_file=cache).scan()
    assert listed.error is not None
