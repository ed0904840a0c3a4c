"""My Models page driven with qtbot over a real ModelsBridge and real files on disk."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from app.ui.pages.my_models import MyModelsPage
from tests.helpers.gguf_factory import write_tiny_llama
from tests.helpers.models_bridge import models_bridge_on_thread


@pytest.fixture
def home(isolated_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    models = isolated_home / "models"
    write_tiny_llama(models / "acme" / "tiny-chat" / "tiny-chat-Q8_0.gguf", chat_template="x")
    write_tiny_llama(models / "acme" / "tiny-base" / "tiny-base-F32.gguf", n_embd=96)
    user_home = tmp_path / "user"
    write_tiny_llama(user_home / ".lmstudio/models/lmstudio-community/lm/lm-Q4_K_M.gguf")
    monkeypatch.setenv("HOME", str(user_home))
    for var in ("HF_HOME", "HF_HUB_CACHE", "OLLAMA_MODELS"):
        monkeypatch.delenv(var, raising=False)
    return isolated_home


@pytest.fixture
def page(qtbot, home: Path) -> Iterator[MyModelsPage]:  # type: ignore[no-untyped-def]
    with models_bridge_on_thread(start_downloads=False) as bridge:
        p = MyModelsPage()
        qtbot.addWidget(p)
        p.resize(1000, 620)
        p.connect_bridge(bridge)
        p.show()
        qtbot.waitUntil(lambda: p.model.rowCount() == 2, timeout=10_000)
        p.bridge = bridge  # type: ignore[attr-defined]
        yield p


def _ids(p: MyModelsPage) -> list[str]:
    return [str(p.proxy.index(r, 0).data()) for r in range(p.proxy.rowCount())]


def test_lists_details_sorts_and_filters(qtbot, page: MyModelsPage) -> None:  # type: ignore[no-untyped-def]
    assert "2 local models" in page.summary.text()
    assert _ids(page) == ["acme/tiny-base/F32", "acme/tiny-chat/Q8_0"]
    row = {page.model.item(r, 0).text(): r for r in range(2)}["acme/tiny-chat/Q8_0"]
    cells = [page.model.item(row, c).text() for c in range(7)]
    assert cells[1] == "llama" and cells[3] == "F32" and cells[5] == "512" and cells[6] == "yes"
    page.table.sortByColumn(4, Qt.SortOrder.DescendingOrder)  # by size
    assert _ids(page)[0] == "acme/tiny-base/F32"
    page.filter.setText("chat")
    assert _ids(page) == ["acme/tiny-chat/Q8_0"]


def test_import_copy_and_delete_with_confirmation(qtbot, page: MyModelsPage, tmp_path: Path):  # type: ignore[no-untyped-def]
    src = write_tiny_llama(tmp_path / "dl" / "imported-IQ4_XS.gguf")
    page.pick_file = lambda: str(src)
    page.import_button.click()
    qtbot.waitUntil(lambda: page.model.rowCount() == 3, timeout=10_000)
    assert "local/imported/IQ4_XS" in _ids(page) and src.exists()
    page.select("local/imported/IQ4_XS")
    page.confirm_delete = lambda model: False
    page.delete_button.click()
    qtbot.wait(200)
    assert page.model.rowCount() == 3
    page.confirm_delete = lambda model: True
    page.delete_button.click()
    qtbot.waitUntil(lambda: page.model.rowCount() == 2, timeout=10_000)
    assert not list((page.bridge.core.paths.models / "local").rglob("*.gguf"))  # type: ignore[attr-defined]


def test_metadata_dialog(qtbot, page: MyModelsPage) -> None:  # type: ignore[no-untyped-def]
    page.select("acme/tiny-chat/Q8_0")
    page.meta_button.click()
    qtbot.waitUntil(lambda: hasattr(page, "metadata_dialog"), timeout=10_000)
    text = page.metadata_dialog.text.toPlainText()
    assert '"general.architecture": "llama"' in text and "tokenizer.ggml.tokens" in text
    page.metadata_dialog.close()


def test_other_apps_models_used_in_place(qtbot, page: MyModelsPage) -> None:  # type: ignore[no-untyped-def]
    qtbot.waitUntil(lambda: page.found_card.isVisible(), timeout=10_000)
    buttons = [
        b for b in page.found_card.findChildren(type(page.refresh)) if b.text() == "Use in place"
    ]
    assert len(buttons) == 1
    buttons[0].click()
    qtbot.waitUntil(lambda: page.model.rowCount() == 3, timeout=10_000)
    assert "lmstudio-community/lm/Q4_K_M" in _ids(page)
    folders = page.bridge.core.settings_store.load().models.extra_folders  # type: ignore[attr-defined]
    assert folders == [str(Path(os.environ["HOME"]) / ".lmstudio" / "models")]
    shot = os.environ.get("HEARTH_SCREENSHOTS")
    if shot:
        page.grab().save(str(Path(shot) / "my_models.png"))
