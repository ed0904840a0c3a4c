"""Running the API server: uvicorn on its own thread, in the GUI and in ``hearth serve``.

We bind the sockets ourselves before uvicorn starts, so a busy port is reported at once
(with a free one to use instead) rather than as a log line nobody sees. Loopback means
both 127.0.0.1 and ::1. Stopping first ends running generations (their streams finish
cleanly), then closes the listeners and the port.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from enum import StrEnum
from pathlib import Path
from typing import Any

import uvicorn

from app.backend.core import HearthCore
from app.backend.server.app import create_app
from app.backend.server.request_log import RequestLog
from app.backend.server.security import machine_names
from app.backend.server.service import ModelService
from app.backend.server.tokens import TokenStore
from app.backend.settings import ServerSettings

log = logging.getLogger(__name__)
RUNTIME_FILE = "server.json"
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


class ServerState(StrEnum):
    STOPPED = "stopped"
    STARTING = "starting"
    RUNNING = "running"
    STOPPING = "stopping"
    FAILED = "failed"


class ServerConfigError(Exception):
    """The server refuses to start as configured (e.g. network access without a token)."""


class PortInUseError(OSError):
    def __init__(self, host: str, port: int, suggestion: int | None) -> None:
        hint = f" Port {suggestion} is free." if suggestion else ""
        super().__init__(errno.EADDRINUSE, f"Port {port} on {host} is already in use.{hint}")
        self.port = port
        self.suggestion = suggestion


def bind_addresses(settings: ServerSettings) -> list[str]:
    """Where to listen: loopback (v4 and v6) by default, every interface when serving the LAN."""
    if settings.serve_on_network:
        return ["0.0.0.0", "::"]
    if settings.host in ("127.0.0.1", "localhost"):
        return ["127.0.0.1", "::1"]
    return [settings.host]


def is_loopback_only(settings: ServerSettings) -> bool:
    return not settings.serve_on_network and settings.host in LOOPBACK_HOSTS


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind((host, port))
        sock.listen(2048)  # clients queue from now on, even before uvicorn takes over
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(False)
    return sock


def free_port(host: str, start: int, tries: int = 50) -> int | None:
    """The first port from ``start`` on that can be bound on ``host``."""
    for port in range(start, min(start + tries, 65536)):
        with contextlib.suppress(OSError):
            _bind(host, port).close()
            return port
    return None


def bind_sockets(settings: ServerSettings) -> list[socket.socket]:
    """Bind every address (the port of the first for port 0); PortInUseError if taken."""
    sockets: list[socket.socket] = []
    port = settings.port
    try:
        for index, host in enumerate(bind_addresses(settings)):
            try:
                sock = _bind(host, port)
            except OSError as exc:
                optional_v6 = index > 0 and ":" in host and exc.errno != errno.EADDRINUSE
                if optional_v6 or (index > 0 and settings.port == 0):
                    continue  # no IPv6 here (or port 0 landed on a v6-busy port): v4 suffices
                if exc.errno == errno.EADDRINUSE:
                    raise PortInUseError(host, port, free_port(host, port + 1)) from exc
                raise
            sockets.append(sock)
            port = sock.getsockname()[1]
    except BaseException:
        for sock in sockets:
            sock.close()
        raise
    return sockets


class ServerRunner:
    """Start/stop one server over a core; thread-safe; listeners hear state changes."""

    def __init__(
        self,
        core: HearthCore,
        settings: Callable[[], ServerSettings] | None = None,
        tokens: TokenStore | None = None,
        request_log: RequestLog | None = None,
    ) -> None:
        self.core = core
        self._settings = settings or (lambda: core.settings.server)
        self.tokens = tokens or TokenStore.in_root(core.paths.root)
        self.request_log = request_log or RequestLog(core.paths.logs)
        self.state = ServerState.STOPPED
        self.message = ""
        self.addresses: list[tuple[str, int]] = []
        self.service: ModelService | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()
        self._listeners: list[Callable[[ServerState, str], None]] = []

    # --------------------------------------------------------------- listeners
    def add_listener(self, listener: Callable[[ServerState, str], None]) -> None:
        self._listeners.append(listener)

    def _set_state(self, state: ServerState, message: str = "") -> None:
        self.state, self.message = state, message
        for listener in list(self._listeners):
            listener(state, message)

    # ------------------------------------------------------------------- start
    @property
    def port(self) -> int | None:
        return self.addresses[0][1] if self.addresses else None

    @property
    def base_url(self) -> str:
        """The URL a local client uses (loopback even when serving the LAN)."""
        if not self.addresses:
            return ""
        host, port = self.addresses[0]
        if host in ("0.0.0.0", "::"):
            host = "127.0.0.1"
        return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"

    def start(self, overrides: dict[str, Any] | None = None, timeout: float = 15.0) -> str:
        """Bind and start serving; returns the base URL. Raises PortInUseError,
        ServerConfigError or OSError; blocks until uvicorn accepts connections."""
        with self._lock:
            if self.state in (ServerState.RUNNING, ServerState.STARTING):
                return self.base_url
            settings = replace(self._settings(), **(overrides or {}))
            if not is_loopback_only(settings) and not self.tokens.enabled():
                raise ServerConfigError(
                    "Serving beyond this computer needs an API token first "
                    "(create one on the Server page or with 'hearth token create NAME')."
                )
            self._set_state(ServerState.STARTING)
            try:
                sockets = bind_sockets(settings)
            except OSError as exc:
                self._set_state(ServerState.FAILED, str(exc))
                raise
            self.addresses = [s.getsockname()[:2] for s in sockets]
            live = self._settings
            extra_hosts = machine_names() if settings.serve_on_network else set()
            if settings.host not in LOOPBACK_HOSTS:
                extra_hosts.add(settings.host.lower())

            def current() -> ServerSettings:
                # Addresses are fixed while running; the rest follows the live settings.
                return replace(
                    live(), host=settings.host, port=settings.port,
                    serve_on_network=settings.serve_on_network,
                )  # fmt: skip

            app, self.service = create_app(
                self.core, current, self.tokens, self.request_log, extra_hosts
            )
            config = uvicorn.Config(
                app,
                log_config=None,
                log_level="warning",
                access_log=False,
                lifespan="on",
                timeout_graceful_shutdown=5,
                timeout_keep_alive=5,
                ws="none",
            )
            server = uvicorn.Server(config)
            self._server = server
            thread = threading.Thread(
                target=self._serve, args=(server, sockets), name="hearth-api", daemon=True
            )
            self._thread = thread
            # Listening already (see _bind), so clients that read the file now just queue.
            self._write_runtime_file()
            thread.start()
        deadline = time.monotonic() + timeout
        while not server.started and thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.01)
        if not server.started:
            self.stop()
            message = self.message or "The server did not start in time."
            self._set_state(ServerState.FAILED, message)
            raise OSError(message)
        self._set_state(ServerState.RUNNING, self.base_url)
        return self.base_url

    def _serve(self, server: uvicorn.Server, sockets: list[socket.socket]) -> None:
        try:
            asyncio.run(self._main(server, sockets))
        except BaseException as exc:
            log.exception("the API server stopped with an error")
            self.message = f"The server stopped: {exc}"
        finally:
            for sock in sockets:
                with contextlib.suppress(OSError):
                    sock.close()

    async def _main(self, server: uvicorn.Server, sockets: list[socket.socket]) -> None:
        self._loop = asyncio.get_running_loop()
        await server.serve(sockets=sockets)

    # -------------------------------------------------------------------- stop
    def stop(self, timeout: float = 15.0) -> None:
        """End running streams cleanly, stop accepting, free the port (blocks until done)."""
        with self._lock:
            server, thread, loop, service = self._server, self._thread, self._loop, self.service
            if server is None or thread is None:
                return
            self._set_state(ServerState.STOPPING)
            if loop is not None and service is not None and loop.is_running():
                future = asyncio.run_coroutine_threadsafe(service.stop(), loop)
                with contextlib.suppress(Exception):
                    future.result(timeout)
            server.should_exit = True
            thread.join(timeout)
            if thread.is_alive():
                server.force_exit = True
                thread.join(5)
            self._server = self._thread = self._loop = None
            self.addresses = []
            self._remove_runtime_file()
            self._set_state(ServerState.STOPPED)

    def wait(self) -> None:
        thread = self._thread
        if thread is not None:
            thread.join()

    # ------------------------------------------------------------ runtime file
    @property
    def runtime_file(self) -> Path:
        return self.core.paths.root / RUNTIME_FILE

    def _write_runtime_file(self) -> None:
        data = {"url": self.base_url, "pid": os.getpid()}
        with contextlib.suppress(OSError):
            self.runtime_file.write_text(json.dumps(data))

    def _remove_runtime_file(self) -> None:
        with contextlib.suppress(OSError):
            data = json.loads(self.runtime_file.read_text())
            if data.get("pid") == os.getpid():
                self.runtime_file.unlink()
