"""Supervision of one engine process: spawn, load handshake, message pump, crash detection."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import IO

from app.backend.engine.protocol import Channel, ChannelClosed, Message
from app.backend.engine.types import LoadParams, ModelInfo

LOG_TAIL_LINES = 6


class EngineLoadError(Exception):
    """The model could not be loaded; the message is meant for the user."""


class EngineCrashed(Exception):
    """The engine process ended without being asked to."""


def worker_command(fd: int, model: Path, params: LoadParams) -> list[str]:
    """How to start the engine: a module run normally, a hidden subcommand inside a bundle."""
    args = ["--fd", str(fd), "--model", str(model), "--params", json.dumps(params.to_dict())]
    if getattr(sys, "frozen", False):
        return [sys.executable, "engine-worker", *args]
    return [sys.executable, "-m", "app.backend.engine.worker", *args]


def describe_exit(returncode: int | None) -> str:
    if returncode is None:
        return "it stopped responding"
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        return f"it was killed by {name}"
    return f"it exited with code {returncode}"


class EngineProcess:
    """A child process running one model. Messages after loading go to ``on_message``."""

    def __init__(self, log_path: Path) -> None:
        self.log_path = log_path
        self._proc: subprocess.Popen[bytes] | None = None
        self._channel: Channel | None = None
        self._stopping = False
        self._log: IO[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(
        self,
        model: Path,
        params: LoadParams,
        on_progress: Callable[[float], None] | None = None,
    ) -> ModelInfo:
        """Spawn the engine and wait until it has loaded the model (or failed to)."""
        parent_sock, child_sock = socket.socketpair()
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - lives as long as the process
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        try:
            self._proc = subprocess.Popen(
                worker_command(child_sock.fileno(), model, params),
                pass_fds=(child_sock.fileno(),),
                stdin=subprocess.DEVNULL,
                stdout=self._log,
                stderr=self._log,
                env=env,
                start_new_session=True,
            )
        finally:
            child_sock.close()
        self._channel = Channel(parent_sock)
        while True:
            try:
                message = self._channel.receive()
            except ChannelClosed:
                code = self._wait_exit()
                if self._stopping:
                    raise EngineLoadError("Loading was cancelled.") from None
                raise EngineLoadError(
                    f"The engine process crashed while loading the model ({describe_exit(code)})."
                    + self._log_excerpt()
                ) from None
            kind = message.get("type")
            if kind == "progress" and on_progress is not None:
                on_progress(float(message.get("fraction", 0.0)))
            elif kind == "loaded":
                return ModelInfo(**message["info"])
            elif kind == "load_failed":
                self.stop()
                raise EngineLoadError(str(message.get("message")) + self._log_excerpt())

    def pump(self, on_message: Callable[[Message], None], on_exit: Callable[[str], None]) -> None:
        """Deliver messages on a daemon thread; ``on_exit`` gets a reason if the engine died."""

        def loop() -> None:
            assert self._channel is not None
            while True:
                try:
                    message = self._channel.receive()
                except ChannelClosed:
                    break
                on_message(message)
            code = self._wait_exit()
            if not self._stopping:
                on_exit(f"The engine stopped unexpectedly: {describe_exit(code)}.")

        threading.Thread(target=loop, name="engine-pump", daemon=True).start()

    def send(self, message: Message) -> None:
        if self._channel is None:
            raise ChannelClosed("engine not started")
        self._channel.send(message)

    def stop(self, timeout: float = 5.0) -> None:
        """Ask the engine to exit; kill it if it does not. Its memory is then really returned."""
        self._stopping = True
        if self._proc is None:
            return
        if self._proc.poll() is None and self._channel is not None:
            try:
                self._channel.send({"type": "shutdown"})
            except ChannelClosed:
                pass
            try:
                self._proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._close_handles()

    def kill(self) -> None:
        """Stop at once (used to cancel a load that is still in progress)."""
        self._stopping = True
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()

    def _wait_exit(self) -> int | None:
        assert self._proc is not None
        try:
            return self._proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            return self._proc.wait()

    def _close_handles(self) -> None:
        if self._channel is not None:
            self._channel.close()
        if self._log is not None:
            self._log.close()

    def _log_excerpt(self) -> str:
        """The engine log's last lines: llama.cpp states its reason there."""
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        interesting = [
            line
            for line in lines[-200:]
            if any(word in line.lower() for word in ("error", "failed", "assert", "invalid"))
        ]
        tail = interesting[-LOG_TAIL_LINES:]
        return ("\nEngine log:\n" + "\n".join(tail)) if tail else ""
