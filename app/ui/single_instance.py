"""One Hearth window per user and data root: a second launch hands its arguments to the first.

Why: double-clicking the icon again (or opening a ``.gguf`` from the file manager) must bring
the running window to the front, not start a second app that fights the first over the same
chats database and models. The first instance listens on a ``QLocalServer`` (a Unix socket, or
a named pipe on Windows); a later one connects, sends one JSON line with its arguments and
working directory, and exits.

The server name is derived from the user and the data root, so a test or portable install with
its own ``HEARTH_HOME`` is a separate "instance" and never captures the real one.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import os
from pathlib import Path

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtNetwork import QLocalServer, QLocalSocket
from PySide6.QtWidgets import QWidget

CONNECT_TIMEOUT_MS = 1000
WRITE_TIMEOUT_MS = 2000
MAX_MESSAGE_BYTES = 64 * 1024
MODEL_SUFFIXES = (".gguf",)


def server_name(data_root: Path) -> str:
    """A short, stable, per-user name (local socket paths have a small length limit)."""
    try:
        user = getpass.getuser()
    except Exception:  # no user name in the environment (rare, containers)
        user = str(os.getuid()) if hasattr(os, "getuid") else "user"
    digest = hashlib.sha256(f"{user}\0{Path(data_root).resolve()}".encode()).hexdigest()
    return f"hearth-{digest[:16]}"


def model_files(args: list[str], cwd: str | None = None) -> list[str]:
    """The arguments that name model files, as absolute paths (relative to ``cwd``)."""
    base = Path(cwd) if cwd else Path.cwd()
    out = []
    for arg in args:
        if arg.lower().endswith(MODEL_SUFFIXES):
            path = Path(arg).expanduser()
            out.append(str(path if path.is_absolute() else base / path))
    return out


def send_to_running(name: str, args: list[str], timeout_ms: int = CONNECT_TIMEOUT_MS) -> bool:
    """Hand ``args`` to a running instance; False if none is listening under ``name``."""
    socket = QLocalSocket()
    socket.connectToServer(name)
    if not socket.waitForConnected(timeout_ms):
        return False
    payload = json.dumps({"args": list(args), "cwd": os.getcwd()}).encode() + b"\n"
    socket.write(payload)
    ok = socket.waitForBytesWritten(WRITE_TIMEOUT_MS)
    socket.disconnectFromServer()
    if socket.state() != QLocalSocket.LocalSocketState.UnconnectedState:
        socket.waitForDisconnected(WRITE_TIMEOUT_MS)
    return bool(ok)


class SingleInstance(QObject):
    """The first instance's side: listens and turns each later launch into signals."""

    #: Another launch happened: raise the window. Carries that launch's arguments.
    activated = Signal(object)
    #: Another launch was asked to open this model file (an absolute path).
    open_file = Signal(str)

    def __init__(self, name: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.name = name
        self.server = QLocalServer(self)
        self.server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        self.server.newConnection.connect(self._on_connection)
        self._buffers: dict[QLocalSocket, bytes] = {}

    def listen(self) -> bool:
        """Start listening, unless a live instance already answers under this name.

        Qt replaces an existing socket file when it listens with access options, so the check
        for a live instance comes first; a file left behind by a crashed instance is removed.
        """
        probe = QLocalSocket()
        probe.connectToServer(self.name)
        if probe.waitForConnected(200):
            probe.abort()
            return False
        if self.server.listen(self.name):
            return True
        QLocalServer.removeServer(self.name)
        return self.server.listen(self.name)

    def close(self) -> None:
        self.server.close()

    @Slot()
    def _on_connection(self) -> None:
        while self.server.hasPendingConnections():
            socket = self.server.nextPendingConnection()
            if socket is None:
                break
            self._buffers[socket] = b""
            socket.readyRead.connect(self._on_ready)
            socket.disconnected.connect(self._on_disconnected)
            if socket.bytesAvailable():
                self._read(socket)

    @Slot()
    def _on_ready(self) -> None:
        socket = self.sender()
        if isinstance(socket, QLocalSocket):
            self._read(socket)

    def _read(self, socket: QLocalSocket) -> None:
        """Collect one newline-terminated message; the sender closes the connection itself."""
        if socket not in self._buffers:
            return
        data = self._buffers[socket] + bytes(socket.readAll().data())
        if b"\n" not in data and len(data) < MAX_MESSAGE_BYTES:
            self._buffers[socket] = data
            return
        del self._buffers[socket]
        self._handle(data.split(b"\n", 1)[0])

    @Slot()
    def _on_disconnected(self) -> None:
        socket = self.sender()
        if not isinstance(socket, QLocalSocket):
            return
        if socket in self._buffers:
            self._read(socket)  # whatever arrived with the close
            leftover = self._buffers.pop(socket, b"")
            if leftover:
                self._handle(leftover)
        socket.deleteLater()

    def _handle(self, line: bytes) -> None:
        try:
            message = json.loads(line.decode("utf-8"))
            args = [str(a) for a in message.get("args", [])]
            cwd = message.get("cwd")
        except (ValueError, AttributeError, TypeError):
            args, cwd = [], None  # garbage from a stranger: still just raise the window
        self.activated.emit(args)
        for path in model_files(args, cwd if isinstance(cwd, str) else None):
            self.open_file.emit(path)


def bring_to_front(window: QWidget) -> None:
    """Show, un-minimise and activate ``window`` (the window manager may still only flash it)."""
    if window.isMinimized():
        window.showNormal()
    else:
        window.show()
    window.raise_()
    window.activateWindow()
    handle = window.windowHandle()
    if handle is not None:
        handle.requestActivate()
