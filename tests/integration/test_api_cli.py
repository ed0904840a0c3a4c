"""``hearth serve``, ``hearth token`` and ``hearth ps/load/unload`` as a user runs them."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest

from tests.helpers.api_server import TINY, tiny_home

pytest.importorskip("llama_cpp")


def env_for(home: Path) -> dict[str, str]:
    env = dict(os.environ, HEARTH_HOME=str(home))
    env.pop("HEARTH_URL", None)
    env.pop("HEARTH_API_TOKEN", None)
    return env


def hearth(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        capture_output=True,
        text=True,
        env=env_for(home),
        timeout=180,
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Served:
    def __init__(self, process: subprocess.Popen[str], port: int) -> None:
        self.process = process
        self.port = port
        self.url = f"http://127.0.0.1:{port}"


def wait_until_up(process: subprocess.Popen[str], url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(process.stderr.read() if process.stderr else "exited")
        try:
            httpx.get(f"{url}/api/version", timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise AssertionError("the server did not come up")


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    home = tiny_home(tmp_path / "home")
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-X", "importtime", "-m", "app", "serve", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env_for(home),
    )
    served = Served(process, port)
    served.home = home  # type: ignore[attr-defined]
    try:
        wait_until_up(process, served.url)
        yield served
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(30)


def test_serve_runs_headless_without_qt_and_stops_cleanly_on_sigterm(served: Served) -> None:
    client = openai.OpenAI(base_url=f"{served.url}/v1", api_key="x", max_retries=0)
    reply = client.completions.create(model=TINY, prompt="hi", max_tokens=3)
    assert reply.usage is not None and reply.usage.completion_tokens == 3
    served.process.send_signal(signal.SIGTERM)
    _out, err = served.process.communicate(timeout=30)
    assert served.process.returncode == 0, err
    assert "Stopping" in err
    imported = [line for line in err.splitlines() if line.startswith("import time:")]
    assert imported and not [line for line in imported if "PySide6" in line or "app.ui" in line]
    with socket.socket() as probe:  # nobody listens there any more (TIME_WAIT aside)
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("127.0.0.1", served.port))
    assert not (served.home / "server.json").exists()  # type: ignore[attr-defined]


def test_sigint_stops_it_too(served: Served) -> None:
    served.process.send_signal(signal.SIGINT)
    served.process.communicate(timeout=30)
    assert served.process.returncode == 0


def test_ps_load_and_unload_talk_to_the_running_server(served: Served) -> None:
    home = served.home  # type: ignore[attr-defined]
    assert json.loads((home / "server.json").read_text())["url"] == served.url
    empty = hearth("ps", home=home)
    assert empty.returncode == 0 and "No models loaded." in empty.stdout
    loaded = hearth("load", TINY, home=home)
    assert loaded.returncode == 0, loaded.stderr
    assert f"{TINY} loaded." in loaded.stdout
    listing = hearth("ps", home=home)
    assert TINY in listing.stdout
    assert hearth("unload", TINY, home=home).returncode == 0
    again = hearth("unload", TINY, home=home)
    assert again.returncode == 1 and "not loaded" in again.stderr
    missing = hearth("load", "no-such-model", home=home)
    assert missing.returncode == 1 and "no-such-model" in missing.stderr


def test_ps_without_a_server_says_how_to_start_one(tmp_path: Path) -> None:
    result = hearth("ps", "--url", f"http://127.0.0.1:{free_port()}", home=tmp_path / "home")
    assert result.returncode == 1 and "hearth serve" in result.stderr


def test_token_create_prints_it_once_and_stores_only_a_hash(tmp_path: Path) -> None:
    home = tmp_path / "home"
    created = hearth("token", "create", "laptop", home=home)
    assert created.returncode == 0
    token = created.stdout.strip()
    assert token.startswith("hth_") and len(token) > 40
    stored = (home / "server-tokens.json").read_text()
    assert token not in stored and token[4:] not in stored
    assert "laptop" in hearth("token", "list", home=home).stdout
    assert hearth("token", "revoke", "laptop", home=home).returncode == 0
    assert "laptop" not in hearth("token", "list", home=home).stdout


def test_serving_beyond_loopback_needs_a_token_first(tmp_path: Path) -> None:
    home = tmp_path / "home"
    refused = hearth("serve", "--host", "0.0.0.0", "--port", str(free_port()), home=home)
    assert refused.returncode == 2
    assert "hearth token create" in refused.stderr


def test_a_busy_port_is_named_with_a_free_one(tmp_path: Path) -> None:
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        result = hearth("serve", "--port", str(port), home=tmp_path / "home")
    assert result.returncode == 1
    assert f"Port {port}" in result.stderr and "hearth serve --port" in result.stderr
