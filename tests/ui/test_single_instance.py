"""One instance: a later launch raises the running window and hands over a .gguf to open."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtNetwork import QLocalServer
from PySide6.QtWidgets import QMainWindow
from pytestqt.qtbot import QtBot

from app.ui.single_instance import (
    SingleInstance,
    bring_to_front,
    model_files,
    send_to_running,
    server_name,
)

ROOT = Path(__file__).resolve().parents[2]


def _name(tmp_path: Path) -> str:
    return server_name(tmp_path / "data-root")


def test_name_depends_on_the_data_root_and_is_short(tmp_path: Path) -> None:
    a, b = server_name(tmp_path / "a"), server_name(tmp_path / "b")
    assert a != b and a == server_name(tmp_path / "a")
    assert a.startswith("hearth-") and len(a) < 40


def test_model_files_are_made_absolute_against_the_senders_cwd() -> None:
    args = ["--flag", "models/x.GGUF", "/abs/y.gguf", "notes.txt"]
    assert model_files(args, "/home/me") == ["/home/me/models/x.GGUF", "/abs/y.gguf"]


def test_nobody_listening_means_we_are_first(tmp_path: Path, qtbot: QtBot) -> None:
    assert not send_to_running(_name(tmp_path), [], timeout_ms=200)


def test_second_launch_in_another_process_reaches_the_first(tmp_path: Path, qtbot: QtBot) -> None:
    name = _name(tmp_path)
    first = SingleInstance(name)
    assert first.listen()
    try:
        script = (
            "import sys\n"
            "from PySide6.QtCore import QCoreApplication\n"
            "from app.ui.single_instance import send_to_running\n"
            "app = QCoreApplication([])\n"
            "sys.exit(0 if send_to_running(sys.argv[1], sys.argv[2:]) else 3)\n"
        )
        with (
            qtbot.waitSignal(first.activated, timeout=10_000) as activated,
            qtbot.waitSignal(first.open_file, timeout=10_000) as opened,
        ):
            proc = subprocess.Popen(
                [sys.executable, "-c", script, name, "models/tiny.gguf"],
                cwd=tmp_path,
                env=dict(os.environ, PYTHONPATH=str(ROOT)),
            )
            # The sender blocks only briefly; the event loop runs while we wait for signals.
        assert proc.wait(timeout=20) == 0
        assert activated.args == [["models/tiny.gguf"]]
        assert opened.args == [str(tmp_path / "models" / "tiny.gguf")]
    finally:
        first.close()


def test_a_stale_socket_left_by_a_crash_is_replaced(tmp_path: Path, qtbot: QtBot) -> None:
    name = _name(tmp_path)
    crashed = QLocalServer()
    assert crashed.listen(name)
    # Simulate a crash: the socket file stays but nobody accepts on it any more.
    socket_path = crashed.fullServerName()
    crashed.close()
    if sys.platform != "win32":
        import socket as pysocket

        stale = pysocket.socket(pysocket.AF_UNIX)
        stale.bind(socket_path)
        stale.close()  # bound, never listening: exactly what a killed process leaves
        assert Path(socket_path).exists()
    first = SingleInstance(name)
    try:
        assert first.listen()
        with qtbot.waitSignal(first.activated, timeout=5000):
            assert send_to_running(name, [])
    finally:
        first.close()


def test_a_live_instance_is_not_displaced(tmp_path: Path, qtbot: QtBot) -> None:
    name = _name(tmp_path)
    first, second = SingleInstance(name), SingleInstance(name)
    try:
        assert first.listen()
        assert not second.listen()
        with qtbot.waitSignal(first.activated, timeout=5000):
            assert send_to_running(name, ["--x"])
    finally:
        first.close()
        second.close()


def test_garbage_still_just_raises_the_window(tmp_path: Path, qtbot: QtBot) -> None:
    from PySide6.QtNetwork import QLocalSocket

    name = _name(tmp_path)
    first = SingleInstance(name)
    assert first.listen()
    try:
        with qtbot.waitSignal(first.activated, timeout=5000) as activated:
            sock = QLocalSocket()
            sock.connectToServer(name)
            assert sock.waitForConnected(1000)
            sock.write(b"\xff not json\n")
            sock.waitForBytesWritten(1000)
        assert activated.args == [[]]
    finally:
        first.close()


@pytest.mark.qt_log_ignore("This plugin does not support raise")
def test_bring_to_front_restores_a_minimised_window(qtbot: QtBot) -> None:
    window = QMainWindow()
    qtbot.addWidget(window)
    window.show()
    window.showMinimized()
    bring_to_front(window)
    assert window.isVisible()
    assert not window.isMinimized()
