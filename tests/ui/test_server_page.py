"""The Server page driving a real API server through its bridge thread."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from PySide6.QtCore import QThread

from app.backend.core import HearthCore
from app.ui.pages.server import ServerPage
from app.ui.server_bridge import ServerBridge
from tests.helpers.api_server import TINY, tiny_home

pytest.importorskip("llama_cpp")
SHOTS = Path(os.environ.get("HEARTH_SCREENSHOTS", "/tmp/hearth-screenshots"))


@pytest.fixture
def page(qtbot, isolated_home: Path) -> Iterator[tuple[ServerPage, ServerBridge]]:  # type: ignore[no-untyped-def]
    tiny_home(isolated_home)
    core = HearthCore()
    core.settings.server.port = 0  # any free port
    bridge = ServerBridge(core)
    thread = QThread()
    bridge.moveToThread(thread)
    thread.started.connect(bridge.initialize)
    page = ServerPage(str(core.paths.logs))
    qtbot.addWidget(page)
    page.connect_bridge(bridge)
    page.resize(1180, 900)
    thread.start()
    qtbot.waitUntil(lambda: page.host.text() == "127.0.0.1", timeout=5000)
    yield page, bridge
    thread.quit()
    thread.wait(10_000)
    bridge.shutdown()
    core.close()


def start(qtbot, page: ServerPage) -> str:  # type: ignore[no-untyped-def]
    page.toggle.click()
    qtbot.waitUntil(lambda: page.base_url.text().startswith("http://"), timeout=15_000)
    assert page.toggle.text() == "Stop server" and page.state_pill.text() == "Running"
    return page.base_url.text()


def test_start_serve_log_and_stop(qtbot, page) -> None:  # type: ignore[no-untyped-def]
    server_page, bridge = page
    url = start(qtbot, server_page)
    assert url in server_page.curl.toPlainText()
    reply = httpx.post(
        f"{url}/v1/completions", json={"model": TINY, "prompt": "hi", "max_tokens": 3}, timeout=60
    )
    assert reply.status_code == 200
    qtbot.waitUntil(lambda: server_page.log_table.rowCount() >= 1, timeout=5000)
    row = server_page.log_table.rowCount() - 1
    cells = [server_page.log_table.item(row, c).text() for c in range(9)]
    assert cells[2:5] == ["POST", "/v1/completions", TINY] and cells[6] == "3"
    assert cells[8] == "200"
    qtbot.waitUntil(lambda: "served" in server_page.status_line.text(), timeout=5000)
    server_page.toggle.click()
    qtbot.waitUntil(lambda: server_page.state_pill.text() == "Stopped", timeout=15_000)
    assert bridge.runner.port is None
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/api/version", timeout=2)


def test_a_port_typed_just_before_start_is_used(qtbot, page) -> None:  # type: ignore[no-untyped-def]
    """Typing a port and clicking Start (no Enter, no focus change first) starts there."""
    server_page, bridge = page
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free = probe.getsockname()[1]
    server_page.port.setValue(free)  # as typing does: no editingFinished yet
    url = start(qtbot, server_page)
    assert url == f"http://127.0.0.1:{free}" and bridge.runner.port == free


def test_tokens_are_shown_once_and_then_required(qtbot, page) -> None:  # type: ignore[no-untyped-def]
    server_page, _bridge = page
    assert not server_page.network.isEnabled()  # no token yet: no network serving
    server_page.token_name.setText("laptop")
    server_page.create_token.click()
    qtbot.waitUntil(lambda: server_page.token_list.count() == 1, timeout=5000)
    token = server_page.new_token.text()
    assert token.startswith("hth_") and server_page.new_token_box.isVisibleTo(server_page)
    assert token not in server_page.token_list.item(0).text()
    assert server_page.network.isEnabled()
    url = start(qtbot, server_page)
    assert "Authorization: Bearer" in server_page.curl.toPlainText()
    assert httpx.get(f"{url}/v1/models").status_code == 401
    ok = httpx.get(f"{url}/v1/models", headers={"Authorization": f"Bearer {token}"})
    assert ok.status_code == 200
    server_page.token_list.setCurrentRow(0)
    server_page.revoke_token.click()
    qtbot.waitUntil(lambda: server_page.token_list.count() == 0, timeout=5000)
    assert httpx.get(f"{url}/v1/models").status_code == 200


def test_a_busy_port_offers_a_free_one(qtbot, page) -> None:  # type: ignore[no-untyped-def]
    server_page, bridge = page
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        busy = blocker.getsockname()[1]
        bridge.core.settings.server.port = busy
        server_page.toggle.click()
        qtbot.waitUntil(lambda: server_page.use_port_button.isVisibleTo(server_page), timeout=5000)
        assert f"Port {busy} is already in use" in server_page.notice.text()
        assert not server_page.toggle.isChecked()
        server_page.use_port_button.click()
        qtbot.waitUntil(lambda: server_page.state_pill.text() == "Running", timeout=15_000)
        assert bridge.core.settings_store.load().server.port != busy


def test_options_are_saved(qtbot, page) -> None:  # type: ignore[no-untyped-def]
    server_page, bridge = page
    server_page.cors.setText("https://a.example, https://b.example")
    server_page.cors.editingFinished.emit()
    server_page.log_prompts.setChecked(True)
    server_page.jit.setChecked(False)
    qtbot.waitUntil(lambda: not bridge.core.settings_store.load().server.jit_loading, timeout=5000)
    saved = bridge.core.settings_store.load().server
    assert saved.cors_origins == ["https://a.example", "https://b.example"]
    assert saved.log_prompts is True


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_screenshot(qtbot, page, theme: str) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtWidgets import QApplication

    from app.ui.theme import ThemeManager

    server_page, bridge = page
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    ThemeManager(app).apply(theme)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    bridge.core.settings.server.port = port
    server_page.port.setValue(port)
    server_page.token_name.setText("laptop")
    server_page.create_token.click()
    qtbot.waitUntil(lambda: server_page.token_list.count() == 1, timeout=5000)
    url = start(qtbot, server_page)
    for prompt in ("hello", "again"):
        httpx.post(
            f"{url}/v1/chat/completions",
            json={
                "model": TINY,
                "messages": [{"role": "user", "content": prompt}],
                "max_tokens": 8,
            },
            headers={"Authorization": f"Bearer {server_page.new_token.text()}"},
            timeout=60,
        )
    httpx.get(f"{url}/v1/models", headers={"Host": "evil.localhost"})
    qtbot.waitUntil(lambda: server_page.log_table.rowCount() >= 3, timeout=5000)
    qtbot.waitUntil(lambda: "Loaded" in server_page.loaded_line.text(), timeout=5000)
    SHOTS.mkdir(parents=True, exist_ok=True)
    try:
        assert server_page.grab().save(str(SHOTS / f"server-page-{theme}.png"))
    finally:
        ThemeManager(app).apply("light")  # what the other UI tests leave behind too


def test_a_fallback_answer_is_marked_in_the_request_log(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from app.backend.server.request_log import LogEntry

    page = ServerPage(str(tmp_path))
    qtbot.addWidget(page)
    notice = "Answered by remote:stub/tiny: acme/tiny/F32 is not loaded."
    path = "/v1/chat/completions"
    page.add_log_entries([
        LogEntry(1.0, "127.0.0.1", "POST", path, 200, 12.0, "acme/tiny/F32").to_dict(),
        LogEntry(2.0, "127.0.0.1", "POST", path, 200, 15.0, "remote:stub/tiny",
                 engine="remote:stub", fallback=notice).to_dict(),
    ])  # fmt: skip
    local, moved = page.log_table.item(0, 4), page.log_table.item(1, 4)
    assert local.text() == "acme/tiny/F32" and not local.toolTip()
    assert moved.text() == "remote:stub/tiny (fallback)" and moved.toolTip() == notice
