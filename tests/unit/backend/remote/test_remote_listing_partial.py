"""A picker hears each endpoint as it answers: a hanging endpoint does not hold up the others.

Real loopback sockets: a small HTTP server that lists one model, and a socket that accepts
connections and never answers (a remote that hangs).
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import keyring
import pytest
from keyring.backends import fail

from app.backend.remote import Listing, RemoteRegistry
from app.backend.secrets import SecretStore
from app.backend.settings import SettingsStore


class _Models(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        body = json.dumps({"object": "list", "data": [{"id": "quick-model"}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def quick() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Models)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


@pytest.fixture
def hanging() -> Iterator[str]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)  # the kernel completes connections; nobody ever reads or answers
    yield f"http://127.0.0.1:{sock.getsockname()[1]}/v1"
    sock.close()


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[RemoteRegistry]:
    original = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    reg = RemoteRegistry(
        SettingsStore(tmp_path / "settings.json"),
        SecretStore(fallback_path=tmp_path / "secrets.json"),
        list_timeout_s=1.5,
    )
    yield reg
    reg.close()
    keyring.set_keyring(original)


def test_each_endpoint_is_reported_as_it_answers(
    registry: RemoteRegistry, quick: str, hanging: str
) -> None:
    registry.save("hangs", hanging)  # first in order: its answer must not be awaited
    registry.save("quick", quick)
    partials: list[tuple[float, Listing]] = []
    start = time.monotonic()
    final = registry.list_all(lambda listing: partials.append((time.monotonic(), listing)))
    took = time.monotonic() - start

    assert [m.id for m in final.models] == ["remote:quick/quick-model"]
    assert list(final.errors) == ["hangs"] and "timed out" in final.errors["hangs"].lower()
    assert took >= 1.4  # the hanging endpoint was waited for, to its timeout
    assert len(partials) == 1  # one partial: the quick endpoint, before the timeout
    at, partial = partials[0]
    assert [m.id for m in partial.models] == ["remote:quick/quick-model"] and not partial.errors
    assert at - start < took - 1.0
    assert registry.cached() is final


def test_without_a_listener_the_answer_is_the_same(registry: RemoteRegistry, quick: str) -> None:
    registry.save("quick", quick)
    registry.save("also", quick)
    listing = registry.list_all()
    assert [m.id for m in listing.models] == [
        "remote:quick/quick-model",
        "remote:also/quick-model",
    ]
