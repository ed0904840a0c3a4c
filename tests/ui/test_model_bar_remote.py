"""The model picker's remote section on its own: headings, labels, "Use", Local only."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from app.backend.engine.client import EngineStatus
from app.backend.engine.types import EngineState
from app.backend.library import LocalModel
from app.backend.remote import RemoteModel
from app.ui.chat.model_bar import ModelBar
from app.ui.chat_bridge.remote_chat import RemoteChoices

LOCAL = "acme/tiny/Q4_K_M"


def _local(tmp_path: Path) -> LocalModel:
    path = tmp_path / "tiny-Q4_K_M.gguf"
    return LocalModel(LOCAL, path, 2_000_000, "llama", "tiny", "Q4_K_M", 1_000_000, 2048, True)


def _rows(bar: ModelBar) -> list[tuple[str, object, bool]]:
    model = bar.picker.model()
    return [
        (
            bar.picker.itemText(i),
            bar.picker.itemData(i),
            bool(model.flags(model.index(i, 0)) & Qt.ItemFlag.ItemIsSelectable),
        )
        for i in range(bar.picker.count())
        if bar.picker.itemText(i)  # separators have no text
    ]


def test_remote_models_follow_local_ones_under_their_endpoint(qtbot, tmp_path: Path) -> None:
    bar = ModelBar()
    qtbot.addWidget(bar)
    bar.set_models([_local(tmp_path)])
    choices = RemoteChoices(
        [RemoteModel("lab", "llama-70b"), RemoteModel("lab", "qwen-32b")],
        {"cloud": "Could not reach 'cloud' at https://api.example: ConnectError"},
    )
    bar.set_remote_models(choices)
    assert _rows(bar) == [
        (LOCAL, LOCAL, True),
        ("Remote · lab", None, False),
        ("llama-70b  ·  Remote · lab", "remote:lab/llama-70b", True),
        ("qwen-32b  ·  Remote · lab", "remote:lab/qwen-32b", True),
        ("Remote · cloud — no answer", None, False),
    ]
    assert bar.remote_ids() == ["remote:lab/llama-70b", "remote:lab/qwen-32b"]
    heading = bar.picker.findText("Remote · cloud — no answer")
    assert "ConnectError" in bar.picker.itemData(heading, Qt.ItemDataRole.ToolTipRole)
    assert bar.selected_model_id() == LOCAL and bar.load_button.text() == "Load"


def test_choosing_a_remote_model_uses_it_without_a_load(qtbot, tmp_path: Path) -> None:
    bar = ModelBar()
    qtbot.addWidget(bar)
    bar.set_models([_local(tmp_path)])
    bar.set_remote_models(RemoteChoices([RemoteModel("lab", "llama-70b")]))
    chosen: list[str] = []
    loads: list[str] = []
    bar.remote_chosen.connect(chosen.append)
    bar.load_requested.connect(loads.append)
    index = bar.picker.findData("remote:lab/llama-70b")
    bar.picker.setCurrentIndex(index)
    bar.picker.activated.emit(index)  # the user picked the row
    assert chosen == ["remote:lab/llama-70b"] and loads == []
    assert bar.load_button.text() == "Use" and not bar.options_button.isEnabled()
    bar.set_remote_active("remote:lab/llama-70b")
    bar.set_status(EngineStatus(EngineState.READY))
    assert bar.state_label.text() == "● Remote"
    assert "lab" in bar.state_label.toolTip() and bar.eject_button.isEnabled()
    # A new listing keeps the choice.
    bar.set_remote_models(RemoteChoices([RemoteModel("lab", "llama-70b")]))
    assert bar.selected_model_id() == "remote:lab/llama-70b"


def test_local_only_hides_the_remote_section(qtbot, tmp_path: Path) -> None:
    bar = ModelBar()
    qtbot.addWidget(bar)
    bar.set_models([_local(tmp_path)])
    bar.set_remote_models(RemoteChoices([RemoteModel("lab", "llama-70b")]))
    bar.picker.setCurrentIndex(bar.picker.findData("remote:lab/llama-70b"))
    bar.set_remote_models(RemoteChoices(local_only=True))
    assert _rows(bar) == [(LOCAL, LOCAL, True)]
    assert bar.selected_model_id() == LOCAL and bar.load_button.text() == "Load"


def test_only_remote_models_is_not_an_empty_library(qtbot) -> None:
    bar = ModelBar()
    qtbot.addWidget(bar)
    bar.set_models([])
    assert bar.empty_card.isVisibleTo(bar) and not bar.load_button.isEnabled()
    bar.set_remote_models(RemoteChoices([RemoteModel("lab", "llama-70b")]))
    assert not bar.empty_card.isVisibleTo(bar) and bar.has_models()
    assert bar.load_button.isEnabled()


@pytest.mark.qt_log_ignore("This plugin does not support")  # offscreen: no raise, no grab
def test_opening_the_list_asks_for_fresh_remote_models(qtbot, tmp_path: Path) -> None:
    bar = ModelBar()
    qtbot.addWidget(bar)
    bar.show()
    bar.set_models([_local(tmp_path)])
    asked: list[bool] = []
    bar.remotes_refresh_requested.connect(lambda: asked.append(True))
    bar.picker.showPopup()
    bar.picker.hidePopup()
    assert asked == [True]
