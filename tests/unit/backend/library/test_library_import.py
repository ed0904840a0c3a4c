"""Import (copy/move/link), delete, and models found in other tools' folders."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.backend.library import ModelLibrary
from app.backend.library.discovery import find_other_tools, link_in_place
from app.backend.library.importer import ImportError_, delete_model, import_model
from tests.helpers.gguf_factory import write_not_gguf, write_tiny_llama


@pytest.mark.parametrize("mode", ["copy", "move", "link"])
def test_import_modes(tmp_path: Path, mode: str) -> None:
    src = write_tiny_llama(tmp_path / "elsewhere" / "my-model-Q8_0.gguf")
    data = src.read_bytes()
    models = tmp_path / "models"
    placed = import_model(src, models, mode)  # type: ignore[arg-type]
    assert placed == models / "local" / "my-model" / "my-model-Q8_0.gguf"
    assert placed.read_bytes() == data
    assert src.exists() == (mode != "move")
    assert placed.is_symlink() == (mode == "link")
    (model,) = ModelLibrary([models]).scan()
    assert model.id == "local/my-model/Q8_0"


def test_import_refuses_broken_files_and_duplicates(tmp_path: Path) -> None:
    bad = write_not_gguf(tmp_path / "bad.gguf")
    with pytest.raises(ImportError_):
        import_model(bad, tmp_path / "models")
    src = write_tiny_llama(tmp_path / "x-F32.gguf")
    import_model(src, tmp_path / "models")
    with pytest.raises(ImportError_, match="already exists"):
        import_model(src, tmp_path / "models")
    assert not list((tmp_path / "models").rglob(".*importing"))


def test_delete_removes_file_and_empty_folders_only_inside_models(tmp_path: Path) -> None:
    models = tmp_path / "models"
    target = write_tiny_llama(models / "acme" / "tiny" / "tiny-F32.gguf")
    outside = write_tiny_llama(tmp_path / "outside.gguf")
    with pytest.raises(ImportError_):
        delete_model(outside, [models])
    assert delete_model(target, [models]) == [target]
    assert not (models / "acme").exists() and models.exists() and outside.exists()


def test_delete_a_link_keeps_its_target(tmp_path: Path) -> None:
    src = write_tiny_llama(tmp_path / "keep-F32.gguf")
    placed = import_model(src, tmp_path / "models", "link")
    delete_model(placed, [tmp_path / "models"])
    assert src.exists() and not placed.exists()


def test_finds_lm_studio_hf_cache_and_ollama(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    for var in ("HF_HUB_CACHE", "HF_HOME", "OLLAMA_MODELS"):
        monkeypatch.delenv(var, raising=False)
    home = tmp_path / "home"
    write_tiny_llama(home / ".lmstudio" / "models" / "lmstudio-community" / "m" / "m-Q4_K_M.gguf")
    snap = home / ".cache/huggingface/hub/models--bartowski--Foo-GGUF/snapshots/abc123"
    write_tiny_llama(snap / "Foo-Q8_0.gguf")
    blob = home / ".ollama/models/blobs/sha256-1234"
    write_tiny_llama(blob)
    manifest = home / ".ollama/models/manifests/registry.ollama.ai/library/llama3/8b"
    manifest.parent.mkdir(parents=True)
    manifest.write_text(
        json.dumps({"layers": [{"mediaType": "application/vnd.ollama.image.model",
                                "digest": "sha256:1234"}]})
    )  # fmt: skip
    sources = {s.tool: s for s in find_other_tools(home)}
    assert set(sources) == {"LM Studio", "Hugging Face cache", "Ollama"}
    assert sources["LM Studio"].kind == "folder"
    models = tmp_path / "models"
    link_in_place(sources["Hugging Face cache"], models)
    link_in_place(sources["Ollama"], models)
    lib = ModelLibrary([models, sources["LM Studio"].folder])
    ids = {m.id for m in lib.scan()}
    assert {
        "bartowski/Foo-GGUF/Q8_0",
        "ollama/llama3/F32",
        "lmstudio-community/m/Q4_K_M",
    } <= ids
    assert blob.exists()  # used in place, not copied
    assert (models / "ollama" / "llama3" / "llama3-8b.gguf").is_symlink()
