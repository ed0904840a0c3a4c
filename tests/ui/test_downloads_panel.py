"""The Downloads panel and "Load model" after a download, with a real ModelsBridge in its
thread, the Hub emulator on loopback and real files; the app-level hand-off to the Chat with
a real HearthApp."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.backend.core import HearthCore
from app.backend.planner import Resources
from app.ui.app import HearthApp
from app.ui.models_bridge import ModelsBridge
from app.ui.pages.discover import DiscoverPage
from app.ui.pages.downloads import DownloadsPanel
from app.ui.pages.my_models import MyModelsPage
from tests.helpers.gguf_factory import ModelSpec, write_model, write_tiny_llama
from tests.helpers.hub_emulator import Fault, HubEmulator, gguf_medium, gguf_small, hub
from tests.helpers.models_bridge import hub_models_bridge

__all__ = ["gguf_medium", "gguf_small", "hub"]
GiB = 1024**3
REPO = "acme/panel-GGUF"


@pytest.fixture
def bridge(
    hub: HubEmulator, monkeypatch: pytest.MonkeyPatch, isolated_home: Path
) -> Iterator[ModelsBridge]:
    machine = Resources(gpu_free_bytes=(8 * GiB,), ram_available_bytes=16 * GiB)
    with hub_models_bridge(hub.endpoint, monkeypatch, machine) as b:
        yield b


@pytest.fixture
def pages(qtbot, bridge: ModelsBridge) -> tuple[DiscoverPage, DownloadsPanel]:  # type: ignore[no-untyped-def]
    discover = DiscoverPage()
    panel = DownloadsPanel()
    for w in (discover, panel):
        qtbot.addWidget(w)
        w.connect_bridge(bridge)
    discover.resize(1000, 700)
    discover.show()
    panel.show()
    return discover, panel


def _download(qtbot, discover: DiscoverPage, label: str) -> None:  # type: ignore[no-untyped-def]
    qtbot.waitUntil(lambda: discover._row_of(label) >= 0, timeout=10_000)
    button = discover.files.cellWidget(discover._row_of(label), 5)
    button.click()


def test_panel_groups_follow_each_download(qtbot, pages, hub, gguf_small, gguf_medium):  # type: ignore[no-untyped-def]
    discover, panel = pages
    hub.add_repo(
        REPO,
        {
            "p-Q8_0.gguf": gguf_small,
            "p-F32.gguf": gguf_medium,
            "p-Q4_0.gguf": gguf_small + b"other",
        },
    )
    hub.fault(REPO, "p-F32.gguf", Fault(rate_bps=400_000))
    hub.fault(REPO, "p-Q4_0.gguf", Fault(flip_byte_at=1234))
    discover.open_repo.emit(REPO)
    _download(qtbot, discover, "p-F32.gguf")
    qtbot.waitUntil(lambda: panel.group_labels("Downloading") == ["p-F32.gguf"], timeout=10_000)
    assert panel.headers["Downloading"].text() == "Downloading (1)"
    assert not panel.headers["Finished"].isVisible()

    _download(qtbot, discover, "p-Q8_0.gguf")
    qtbot.waitUntil(lambda: panel.group_labels("Finished") == ["p-Q8_0.gguf"], timeout=20_000)
    _download(qtbot, discover, "p-Q4_0.gguf")
    qtbot.waitUntil(lambda: panel.group_labels("Failed") == ["p-Q4_0.gguf"], timeout=20_000)

    slow = next(r for r in panel.rows.values() if r.status in ("downloading", "queued"))
    qtbot.waitUntil(lambda: slow.status == "downloading", timeout=10_000)
    slow.toggle.click()  # Pause, from the panel
    qtbot.waitUntil(lambda: panel.group_labels("Paused") == ["p-F32.gguf"], timeout=10_000)
    assert panel.group_labels("Downloading") == []
    # The Discover list shows the same state: both follow the bridge.
    qtbot.waitUntil(lambda: discover._rows[slow.rid].status == "paused", timeout=5000)
    finished = next(r for r in panel.rows.values() if r.status == "completed")
    assert finished.load.isVisible() and not slow.load.isVisible()

    panel.clear_finished.click()  # finished and rejected rows go; the paused one stays
    qtbot.waitUntil(lambda: set(panel.rows) == {slow.rid}, timeout=10_000)
    assert panel.group_labels("Paused") == ["p-F32.gguf"]


def test_load_model_on_a_finished_download_names_the_library_model(  # type: ignore[no-untyped-def]
    qtbot, pages, hub, gguf_small, bridge
):
    discover, panel = pages
    hub.add_repo(
        REPO,
        {
            "p-Q8_0.gguf": gguf_small,
            "p-Q4_K_M-00001-of-00002.gguf": gguf_small[:400_000],
            "p-Q4_K_M-00002-of-00002.gguf": gguf_small[400_000:],
        },
    )
    opened: list[str] = []
    errors: list[str] = []
    bridge.open_in_chat.connect(opened.append)
    bridge.error.connect(errors.append)
    discover.open_repo.emit(REPO)
    _download(qtbot, discover, "p-Q8_0.gguf")
    qtbot.waitUntil(lambda: panel.group_labels("Finished") == ["p-Q8_0.gguf"], timeout=20_000)
    row = next(iter(panel.rows.values()))
    row.load.click()
    qtbot.waitUntil(lambda: bool(opened), timeout=10_000)
    assert opened == [f"{REPO}/Q8_0"]

    # A file the user deleted since: a clear error, nothing opened.
    (bridge.core.paths.models / REPO / "p-Q8_0.gguf").unlink()
    row.load.click()
    qtbot.waitUntil(lambda: bool(errors), timeout=10_000)
    assert "no longer in your models folder" in errors[-1] and len(opened) == 1

    # Each part of a split model loads the one model they make.
    _download(qtbot, discover, "p-Q4_K_M.gguf")
    qtbot.waitUntil(lambda: len(panel.group_labels("Finished")) == 3, timeout=20_000)
    part2 = next(
        r for rid, r in panel.rows.items() if panel._records[rid].spec.filename.endswith("2.gguf")
    )
    part2.load.click()
    qtbot.waitUntil(lambda: len(opened) == 2, timeout=10_000)
    assert opened[-1] == f"{REPO}/Q4_K_M"


@pytest.mark.qt_log_ignore("This plugin does not support raise")  # the panel comes forward
def test_app_load_in_chat_switches_to_chat_and_loads(qtbot, isolated_home: Path) -> None:  # type: ignore[no-untyped-def]
    core = HearthCore()
    write_tiny_llama(core.paths.models / "acme" / "tiny" / "tiny-Q8_0.gguf")
    hearth = HearthApp(core)
    qtbot.addWidget(hearth.window)
    try:
        hearth.window.show()
        hearth.window.show_section("Discover")
        loads: list[str] = []
        hearth.chat.load_model.connect(loads.append)
        picker = hearth.chat.model_bar.picker
        qtbot.waitUntil(lambda: picker.findData("acme/tiny/Q8_0") >= 0, timeout=15_000)
        hearth.load_in_chat("acme/tiny/Q8_0")
        assert hearth.window.current_section() == "Chat"
        assert picker.currentData() == "acme/tiny/Q8_0"
        assert loads == ["acme/tiny/Q8_0"]
        hearth.downloads_button.click()
        assert hearth.downloads_panel.isVisible()
    finally:
        hearth.shutdown()
        hearth.window.deleteLater()


def test_a_vision_models_projector_follows_it(qtbot, pages, hub, gguf_small, bridge, tmp_path):  # type: ignore[no-untyped-def]
    discover, panel = pages
    projector = write_model(  # a projector by its header, as llama.cpp writes them
        tmp_path / "mmproj.gguf", ModelSpec(extra_metadata={"general.type": "mmproj"})
    )
    hub.add_repo(REPO, {"v-Q8_0.gguf": gguf_small, "mmproj-v-f16.gguf": projector})
    discover.open_repo.emit(REPO)
    _download(qtbot, discover, "v-Q8_0.gguf")
    qtbot.waitUntil(
        lambda: sorted(panel.group_labels("Finished")) == ["mmproj-v-f16.gguf", "v-Q8_0.gguf"],
        timeout=20_000,
    )
    folder = bridge.core.paths.models / REPO
    assert sorted(p.name for p in folder.iterdir()) == ["mmproj-v-f16.gguf", "v-Q8_0.gguf"]
    my_models = MyModelsPage()  # one model, marked as having its projector beside it
    qtbot.addWidget(my_models)
    my_models.connect_bridge(bridge)
    my_models.list_models.emit()
    qtbot.waitUntil(lambda: my_models.model.rowCount() == 1, timeout=10_000)
    qtbot.waitUntil(lambda: "· vision" in my_models.model.item(0, 0).text(), timeout=10_000)
    assert "mmproj-v-f16.gguf" in my_models.model.item(0, 0).toolTip()
