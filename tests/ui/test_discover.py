"""Discover page driven with qtbot: a real ModelsBridge in its thread, the Hub emulator on
loopback, real downloads. Screenshots for eyeballing go to $HEARTH_SCREENSHOTS if set."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QPushButton

from app.backend.planner import Resources
from app.ui.models_bridge import ModelsBridge
from app.ui.pages.discover import DiscoverPage
from tests.helpers.hub_emulator import Fault, HubEmulator, gguf_medium, gguf_small, hub
from tests.helpers.models_bridge import hub_models_bridge

__all__ = ["gguf_medium", "gguf_small", "hub"]
GiB = 1024**3
REPO = "acme/tiny-chat-GGUF"


@pytest.fixture
def bridge(
    hub: HubEmulator, monkeypatch: pytest.MonkeyPatch, isolated_home: Path
) -> Iterator[ModelsBridge]:
    machine = Resources(gpu_free_bytes=(8 * GiB,), ram_available_bytes=16 * GiB)
    with hub_models_bridge(hub.endpoint, monkeypatch, machine) as b:
        yield b


@pytest.fixture
def page(qtbot, bridge: ModelsBridge) -> DiscoverPage:  # type: ignore[no-untyped-def]
    p = DiscoverPage()
    qtbot.addWidget(p)
    p.resize(1100, 760)
    p.connect_bridge(bridge)
    p.show()
    return p


def _fill(hub: HubEmulator, gguf_small: bytes, gguf_medium: Path) -> None:
    hub.add_repo(
        REPO,
        {
            "tiny-chat-Q8_0.gguf": gguf_small,
            "tiny-chat-F32.gguf": gguf_medium,
            "tiny-chat-Q4_K_M-00001-of-00002.gguf": gguf_small[:400_000],
            "tiny-chat-Q4_K_M-00002-of-00002.gguf": gguf_small[400_000:],
            "mmproj-tiny-chat-f16.gguf": gguf_small,
        },
        readme="---\nlicense: mit\n---\n# Tiny chat\n\nA **tiny** model for tests.",
        downloads=12_300,
        likes=45,
    )
    for i in range(40):
        hub.add_repo(f"community/model{i:02d}-GGUF", {"m-Q4_0.gguf": b"GGUF"}, downloads=i)


def _button(page: DiscoverPage, label: str) -> QPushButton:
    row = page._row_of(label)
    widget = page.files.cellWidget(row, 5)
    assert isinstance(widget, QPushButton)
    return widget


def _shot(widget, name: str) -> None:  # type: ignore[no-untyped-def]
    folder = os.environ.get("HEARTH_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        widget.grab().save(str(Path(folder) / name))


def test_search_sort_and_load_more(qtbot, page: DiscoverPage, hub, gguf_small, gguf_medium):  # type: ignore[no-untyped-def]
    _fill(hub, gguf_small, gguf_medium)
    page.query.setText("GGUF")
    page.search_button.click()
    qtbot.waitUntil(lambda: page.results.count() == 30, timeout=10_000)
    assert page.results.item(0).text().startswith(REPO)  # most downloaded first
    assert "↓ 12.3k" in page.results.item(0).text()
    assert page.more.isVisible()
    page.more.click()
    qtbot.waitUntil(lambda: page.results.count() == 41, timeout=10_000)
    assert not page.more.isVisible()


def test_model_page_files_fit_and_card(qtbot, page, hub, gguf_small, gguf_medium):  # type: ignore[no-untyped-def]
    _fill(hub, gguf_small, gguf_medium)
    page.query.setText(f"https://huggingface.co/{REPO}")  # a pasted link opens the page
    page.search_button.click()
    qtbot.waitUntil(lambda: page.files.rowCount() == 4, timeout=10_000)
    labels = [page.files.item(r, 0).text() for r in range(4)]
    assert "tiny-chat-Q4_K_M  (2 parts)" in labels
    quants = {page.files.item(r, 1).text() for r in range(4)}
    assert quants == {"Q4_K_M", "Q8_0", "F32", "projector"}
    q8 = page._row_of("tiny-chat-Q8_0.gguf")
    qtbot.waitUntil(lambda: page.files.item(q8, 3).text() != "checking…", timeout=15_000)
    assert page.files.item(q8, 3).text() == "Full GPU offload"  # from the real header
    assert page.files.item(q8, 4).text().startswith("≈ ")
    qtbot.waitUntil(lambda: "tiny" in page.card.toPlainText(), timeout=10_000)
    assert "license" not in page.card.toPlainText()
    ranged = [r for r in hub.requests if r.host == "cdn" and r.headers.get("range")]
    assert ranged  # headers were read with Range requests
    _shot(page, "discover.png")


def test_download_completes_verified(qtbot, page, hub, gguf_small, gguf_medium, bridge):  # type: ignore[no-untyped-def]
    _fill(hub, gguf_small, gguf_medium)
    listed: list[list] = []
    bridge.models_listed.connect(listed.append)
    page.open_repo.emit(REPO)
    qtbot.waitUntil(lambda: page.files.rowCount() == 4, timeout=10_000)
    _button(page, "tiny-chat-Q8_0.gguf").click()

    def model_rows() -> list:  # the repo's projector follows the model in a second row
        return [r for r in page._rows.values() if r.name.text().endswith("· tiny-chat-Q8_0.gguf")]

    qtbot.waitUntil(lambda: len(model_rows()) == 1, timeout=10_000)
    row = model_rows()[0]
    qtbot.waitUntil(lambda: row.status == "completed", timeout=20_000)
    assert "verified" in row.detail.text()
    assert (bridge.core.paths.models / REPO / "tiny-chat-Q8_0.gguf").read_bytes() == gguf_small
    qtbot.waitUntil(lambda: any(listed), timeout=10_000)
    assert any(m.id == f"{REPO}/Q8_0" for m in listed[-1])


def test_pause_resume_cancel_from_the_row(qtbot, page, hub, gguf_small, gguf_medium, bridge):  # type: ignore[no-untyped-def]
    _fill(hub, gguf_small, gguf_medium)
    hub.fault(REPO, "tiny-chat-F32.gguf", Fault(rate_bps=1_000_000))
    page.open_repo.emit(REPO)
    qtbot.waitUntil(lambda: page.files.rowCount() == 4, timeout=10_000)
    _button(page, "tiny-chat-F32.gguf").click()
    qtbot.waitUntil(lambda: len(page._rows) == 1, timeout=10_000)
    row = next(iter(page._rows.values()))
    qtbot.waitUntil(lambda: row.bar.value() > 0, timeout=10_000)
    row.toggle.click()
    qtbot.waitUntil(lambda: row.status == "paused" and row.toggle.text() == "Resume")
    row.toggle.click()
    qtbot.waitUntil(lambda: row.status == "downloading", timeout=10_000)
    row.cancel.click()
    qtbot.waitUntil(lambda: row.status == "cancelled", timeout=10_000)
    part = bridge.core.downloads.part_path(row.rid)
    qtbot.waitUntil(lambda: not part.exists(), timeout=10_000)


def test_flipped_byte_is_reported_and_not_installed(
    qtbot, page, hub, gguf_small, gguf_medium, bridge
):  # type: ignore[no-untyped-def]
    _fill(hub, gguf_small, gguf_medium)
    hub.fault(REPO, "tiny-chat-Q8_0.gguf", Fault(flip_byte_at=77_777))
    page.open_repo.emit(REPO)
    qtbot.waitUntil(lambda: page.files.rowCount() == 4, timeout=10_000)
    _button(page, "tiny-chat-Q8_0.gguf").click()
    qtbot.waitUntil(lambda: "failed verification" in page.notice.text(), timeout=20_000)
    row = next(iter(page._rows.values()))
    assert row.status == "quarantined" and "Rejected" in row.detail.text()
    assert not list(bridge.core.paths.models.rglob("*.gguf"))


def test_gated_repo_and_token_with_consent(qtbot, page, hub, gguf_small, bridge):  # type: ignore[no-untyped-def]
    hub.add_repo("meta/gated-GGUF", {"g-Q4_0.gguf": gguf_small}, gated=True)
    page.open_repo.emit("meta/gated-GGUF")
    qtbot.waitUntil(lambda: "token" in page.notice.text(), timeout=10_000)
    asked: list[str] = []
    page.ask_consent = lambda reason: asked.append(reason) or True
    page._pending_token = hub.token
    page.set_token.emit(hub.token, False)  # as the dialog does
    qtbot.waitUntil(lambda: page.token_button.text().endswith("✓"), timeout=10_000)
    assert asked and "keyring" in asked[0].lower()
    secrets = bridge.core.paths.root / "secrets.json"
    assert secrets.exists() and oct(secrets.stat().st_mode & 0o777) == "0o600"
    page.open_repo.emit("meta/gated-GGUF")
    qtbot.waitUntil(lambda: page.files.rowCount() == 1, timeout=10_000)


def test_event_loop_keeps_running_during_download_and_search(  # type: ignore[no-untyped-def]
    qtbot, page, hub, gguf_small, gguf_medium
):
    """A loose bound (the real figure is measured by bench/ui_responsiveness-style runs)."""
    _fill(hub, gguf_small, gguf_medium)
    page.open_repo.emit(REPO)
    qtbot.waitUntil(lambda: page.files.rowCount() == 4, timeout=10_000)
    gaps: list[float] = []
    last = [time.perf_counter()]

    def tick() -> None:
        now = time.perf_counter()
        gaps.append(now - last[0])
        last[0] = now

    timer = QTimer()
    timer.timeout.connect(tick)
    timer.start(5)
    _button(page, "tiny-chat-F32.gguf").click()
    page.query.setText("model")
    page.search_button.click()
    qtbot.waitUntil(
        lambda: bool(page._rows) and next(iter(page._rows.values())).status == "completed",
        timeout=30_000,
    )
    timer.stop()
    assert max(gaps) < 0.5, f"event loop stalled {max(gaps) * 1000:.0f} ms"


FIT_REPO = "acme/fit-GGUF"


def _fit_repo(hub: HubEmulator, gguf_small: bytes, gguf_medium: Path) -> None:
    hub.add_repo(
        FIT_REPO,
        {"x-Q8_0.gguf": gguf_medium, "x-Q4_K_M.gguf": gguf_small, "mmproj-x-f16.gguf": gguf_small},
    )


def _all_checked(page: DiscoverPage) -> bool:
    return page.files.rowCount() == 3 and all(
        page.files.item(r, 3).text() not in ("checking…", "") for r in range(3)
    )


def test_recommended_badge_is_the_largest_full_gpu_file(qtbot, page, hub, gguf_small, gguf_medium):  # type: ignore[no-untyped-def]
    _fit_repo(hub, gguf_small, gguf_medium)
    page.open_repo.emit(FIT_REPO)  # the fixture's machine: 8 GiB GPU, 16 GiB RAM
    qtbot.waitUntil(lambda: _all_checked(page), timeout=15_000)
    assert page.recommended == "x-Q8_0.gguf"
    badges = {
        page.files.item(r, 0).data(0x0100): page.files.item(r, page.BADGE_COLUMN).text()
        for r in range(3)
    }
    assert badges == {"x-Q8_0.gguf": page.RECOMMENDED, "x-Q4_K_M.gguf": "", "mmproj-x-f16.gguf": ""}
    header = page.files.horizontalHeader()
    assert header.visualIndex(page.BADGE_COLUMN) == 1  # shown right after the file name


def test_fits_filter_and_best_fit_order(qtbot, page, hub, gguf_small, gguf_medium, bridge):  # type: ignore[no-untyped-def]
    _fit_repo(hub, gguf_small, gguf_medium)
    # CPU only with ~26 MB to spare: the small model fits, the 5 MB one (29 MB planned) not.
    bridge._resources = Resources(gpu_free_bytes=(), ram_available_bytes=512 * 1024**2 + 26_000_000)
    page.open_repo.emit(FIT_REPO)
    qtbot.waitUntil(lambda: _all_checked(page), timeout=15_000)
    q8 = page._row_of("x-Q8_0.gguf")
    assert page.files.item(q8, 3).text() == "Too large"
    assert page.files.item(page._row_of("x-Q4_K_M.gguf"), 3).text() == "CPU only"
    assert page.recommended == "x-Q4_K_M.gguf"
    assert page.visible_labels() == ["x-Q4_K_M.gguf", "x-Q8_0.gguf", "mmproj-x-f16.gguf"]
    page.fits_only.setChecked(True)
    assert page.visible_labels() == ["x-Q4_K_M.gguf", "mmproj-x-f16.gguf"]
    page.fits_only.setChecked(False)
    page.file_order.setCurrentIndex(page.file_order.findData("fit"))
    assert page.visible_labels() == ["x-Q4_K_M.gguf", "x-Q8_0.gguf", "mmproj-x-f16.gguf"]
    # Best fit first holds even where size order disagrees: give the big file a GPU fit.
    bridge._resources = Resources(gpu_free_bytes=(8 * GiB,), ram_available_bytes=16 * GiB)
    page.open_repo.emit(FIT_REPO)
    qtbot.waitUntil(
        lambda: page.recommended == "x-Q8_0.gguf" and _all_checked(page), timeout=15_000
    )
    assert page.visible_labels()[0] == "x-Q8_0.gguf"
    _shot(page, "discover-fit.png")


def test_search_results_filter_to_models_that_fit(
    qtbot, page, hub, gguf_small, gguf_medium, bridge
):  # type: ignore[no-untyped-def]
    hub.add_repo("acme/small-GGUF", {"s-Q4_0.gguf": gguf_small}, downloads=30)
    hub.add_repo("acme/big-GGUF", {"b-Q8_0.gguf": gguf_medium}, downloads=20)
    hub.add_repo("acme/projector-only-GGUF", {"mmproj-p-f16.gguf": gguf_small}, downloads=10)
    # CPU only with 1 MB to spare: the 0.7 MB file fits by size, the 5 MB one does not.
    bridge._resources = Resources(gpu_free_bytes=(), ram_available_bytes=512 * 1024**2 + 10**6)
    page.query.setText("acme")
    page.search_button.click()
    qtbot.waitUntil(lambda: page.results.count() == 3, timeout=10_000)
    all_three = ["acme/small-GGUF", "acme/big-GGUF", "acme/projector-only-GGUF"]
    assert page.visible_results() == all_three
    page.results_fit_only.setChecked(True)
    qtbot.waitUntil(lambda: page.visible_results() == ["acme/small-GGUF"], timeout=10_000)
    page.results_fit_only.setChecked(False)
    assert page.visible_results() == all_three


def test_search_results_sorted_by_fit_show_their_verdict(
    qtbot, page, hub, gguf_small, gguf_medium, bridge
):  # type: ignore[no-untyped-def]
    hub.add_repo("acme/big-GGUF", {"b-Q8_0.gguf": gguf_medium}, downloads=30)
    hub.add_repo("acme/projector-only-GGUF", {"mmproj-p-f16.gguf": gguf_small}, downloads=20)
    hub.add_repo("acme/small-GGUF", {"s-Q4_0.gguf": gguf_small}, downloads=10)
    # CPU only with 1 MB to spare: the 0.7 MB file fits by size, the 5 MB one does not.
    bridge._resources = Resources(gpu_free_bytes=(), ram_available_bytes=512 * 1024**2 + 10**6)
    page.query.setText("acme")
    page.search_button.click()
    by_downloads = ["acme/big-GGUF", "acme/projector-only-GGUF", "acme/small-GGUF"]
    qtbot.waitUntil(lambda: page.visible_results() == by_downloads, timeout=10_000)
    assert "CPU only" not in page.results.item(2).text()  # not checked while not asked
    big = page.results.item(0)
    qtbot.mouseClick(
        page.results.viewport(), Qt.MouseButton.LeftButton,
        pos=page.results.visualItemRect(big).center(),
    )  # fmt: skip
    qtbot.waitUntil(lambda: page._details is not None, timeout=10_000)
    page.sort.setCurrentIndex(page.sort.findData("fit"))  # re-sorts at once, no Search click
    by_fit = ["acme/small-GGUF", "acme/big-GGUF", "acme/projector-only-GGUF"]

    def texts() -> list[str]:
        return [page.results.item(i).text() for i in range(page.results.count())]

    qtbot.waitUntil(lambda: all(len(t.splitlines()) == 3 for t in texts()), timeout=10_000)
    assert page.visible_results() == by_fit
    shown = texts()
    assert shown[0].splitlines()[-1] == "CPU only"
    assert shown[1].splitlines()[-1] == "Too large"
    assert shown[2].splitlines()[-1] == "No model file"
    assert page.results.currentItem().data(Qt.ItemDataRole.UserRole) == "acme/big-GGUF"
    page.sort.setCurrentIndex(page.sort.findData("downloads"))
    qtbot.waitUntil(lambda: page.visible_results() == by_downloads, timeout=10_000)
    _shot(page, "discover-results-by-fit.png")


def test_fit_sort_keeps_the_fit_filter_in_every_order_of_arrival(qtbot) -> None:  # type: ignore[no-untyped-def]
    """Re-ordering moves rows, and Qt forgets a moved row's hidden flag: a result the filter
    hid must stay hidden wherever it lands. Verdicts arrive in any order (a pool of threads
    checks them); every order is played here on the page's own slots."""
    from itertools import permutations

    from app.backend.hub import FitEstimate, ModelSummary

    names = ["acme/big-GGUF", "acme/projector-only-GGUF", "acme/small-GGUF"]  # Hub order
    verdicts = {
        "acme/big-GGUF": FitEstimate("does_not_fit", 6 * GiB, 4096, False),
        "acme/projector-only-GGUF": None,
        "acme/small-GGUF": FitEstimate("cpu_only", GiB, 4096, False),
    }
    for order in permutations(names):
        page = DiscoverPage()  # no bridge: the test plays the bridge's answers
        qtbot.addWidget(page)
        page.results_fit_only.setChecked(True)
        page.sort.setCurrentIndex(page.sort.findData("fit"))
        page.show_results(1, [ModelSummary(n, "acme", 0, 0, None) for n in names], False)
        for name in order:
            page.show_result_fit(name, verdicts[name])
        assert page.visible_results() == ["acme/small-GGUF"], order
        page.results_fit_only.setChecked(False)
        assert page.visible_results() == [
            "acme/small-GGUF", "acme/big-GGUF", "acme/projector-only-GGUF"
        ], order  # fmt: skip
