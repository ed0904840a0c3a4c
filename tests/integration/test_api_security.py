"""Security probes against a real server on loopback, one test each."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest

from app.backend.server.runner import ServerConfigError, ServerRunner
from app.backend.server.tokens import TokenStore
from tests.helpers.api_server import TINY, Api, serve, start_api, tiny_home

pytest.importorskip("llama_cpp")


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    root = tiny_home(tmp_path_factory.mktemp("security-home"))
    yield from serve(root)


def raw_request(api: Api, request: bytes) -> bytes:
    """Send bytes as they are (httpx would fix up a bad Host header)."""
    with socket.create_connection(("127.0.0.1", api.port), timeout=10) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_binds_loopback_v4_and_v6_only(api: Api) -> None:
    hosts = {host for host, _ in api.runner.addresses}
    assert "127.0.0.1" in hosts
    assert hosts <= {"127.0.0.1", "::1"}


@pytest.mark.parametrize("host", ["evil.localhost", "attacker.example", "localhost.evil.com"])
def test_unknown_host_headers_are_refused(api: Api, host: str) -> None:
    reply = httpx.get(f"{api.url}/v1/models", headers={"Host": host})
    assert reply.status_code == 400 and "Host" in reply.json()["error"]["message"]


def test_an_empty_host_header_is_refused(api: Api) -> None:
    reply = raw_request(api, b"GET /v1/models HTTP/1.1\r\nHost: \r\nConnection: close\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 400")


def test_loopback_names_and_ip_literals_are_accepted(api: Api) -> None:
    for host in (f"localhost:{api.port}", f"127.0.0.1:{api.port}", f"[::1]:{api.port}"):
        assert httpx.get(f"{api.url}/v1/models", headers={"Host": host}).status_code == 200


def test_origins_not_on_the_list_get_no_cors_headers_and_are_refused(api: Api) -> None:
    evil = {"Origin": "https://evil.example"}
    reply = httpx.get(f"{api.url}/v1/models", headers=evil)
    assert reply.status_code == 403
    assert "access-control-allow-origin" not in reply.headers
    preflight = httpx.options(
        f"{api.url}/v1/chat/completions",
        headers={**evil, "Access-Control-Request-Method": "POST"},
    )
    assert "access-control-allow-origin" not in preflight.headers


def test_allowed_origins_get_cors_headers(api: Api) -> None:
    api.core.settings.server.cors_origins = ["https://notebook.example"]
    try:
        good = {"Origin": "https://notebook.example"}
        preflight = httpx.options(
            f"{api.url}/v1/chat/completions",
            headers={**good, "Access-Control-Request-Method": "POST"},
        )
        assert preflight.status_code == 204
        assert preflight.headers["access-control-allow-origin"] == "https://notebook.example"
        reply = httpx.get(f"{api.url}/v1/models", headers=good)
        assert reply.headers["access-control-allow-origin"] == "https://notebook.example"
    finally:
        api.core.settings.server.cors_origins = []


def test_request_body_over_the_limit_is_a_413(api: Api) -> None:
    api.core.settings.server.max_body_mb = 1
    try:
        big = b'{"model": "x", "prompt": "' + b"a" * (2 * 1024 * 1024) + b'"}'
        reply = httpx.post(f"{api.url}/v1/completions", content=big)
        assert reply.status_code == 413
        chunked = httpx.post(f"{api.url}/v1/completions", content=iter([big[:1000], big[1000:]]))
        assert chunked.status_code == 413
    finally:
        api.core.settings.server.max_body_mb = 16


def test_malformed_json_is_a_400_in_each_dialect(api: Api) -> None:
    bad = b"{nope"
    openai_reply = httpx.post(f"{api.url}/v1/chat/completions", content=bad)
    assert openai_reply.status_code == 400 and "error" in openai_reply.json()
    anthropic_reply = httpx.post(f"{api.url}/v1/messages", content=bad)
    assert anthropic_reply.json()["type"] == "error"
    ollama_reply = httpx.post(f"{api.url}/api/chat", content=bad)
    assert isinstance(ollama_reply.json()["error"], str)


@pytest.mark.parametrize(
    "path",
    [
        "/v1/chat/completions",
        "/v1/completions",
        "/v1/embeddings",
        "/v1/messages",
        "/api/chat",
        "/api/generate",
        "/api/embed",
        "/api/show",
    ],
)
def test_a_model_that_is_not_a_string_is_a_400_everywhere(api: Api, path: str) -> None:
    """Found by fuzzing every field with odd JSON values: /api/show answered 500 (and reset
    the connection for huge numbers) on ``"model": 5``."""
    body = {"messages": [{"role": "user", "content": "x"}], "prompt": "x", "input": "x"}
    for model in (5, 1e308, 2**70, [1], {"a": 1}, True):
        reply = httpx.post(f"{api.url}{path}", json={**body, "model": model, "max_tokens": 2})
        assert reply.status_code == 400, (model, reply.status_code, reply.text)


def test_unknown_model_is_a_404(api: Api) -> None:
    reply = httpx.post(
        f"{api.url}/v1/chat/completions",
        json={"model": "ghost", "messages": [{"role": "user", "content": "x"}]},
    )
    assert reply.status_code == 404


def test_no_loadable_model_is_a_503_without_paths(tmp_path: Path) -> None:
    root = tmp_path / "home"
    broken = root / "models" / "acme" / "broken" / "broken-Q4_0.gguf"
    broken.parent.mkdir(parents=True)
    from tests.helpers.gguf_factory import write_unknown_arch

    write_unknown_arch(broken)
    api = start_api(root)
    try:
        reply = httpx.post(
            f"{api.url}/v1/chat/completions",
            json={"model": "acme/broken/Q4_0", "messages": [{"role": "user", "content": "x"}]},
        )
        assert reply.status_code in (404, 503)
        assert str(root) not in reply.text and "/models/" not in reply.text
        api.core.settings.server.jit_loading = False
        tiny_home(root)
        reply = httpx.post(
            f"{api.url}/v1/completions", json={"model": TINY, "prompt": "x", "max_tokens": 1}
        )
        assert reply.status_code == 503 and str(root) not in reply.text
    finally:
        api.stop()


def test_when_tokens_exist_every_route_requires_one(tmp_path: Path) -> None:
    root = tiny_home(tmp_path / "home")
    _record, token = TokenStore.in_root(root).create("tests")
    api = start_api(root)
    try:
        for method, path in (
            ("GET", "/v1/models"),
            ("GET", "/api/tags"),
            ("GET", "/api/version"),
            ("POST", "/v1/messages"),
            ("GET", "/hearth/status"),
            ("GET", "/no/such/route"),
        ):
            assert httpx.request(method, api.url + path).status_code == 401, path
            wrong = {"Authorization": "Bearer hth_wrong"}
            assert httpx.request(method, api.url + path, headers=wrong).status_code == 401
        bearer = httpx.get(f"{api.url}/v1/models", headers={"Authorization": f"Bearer {token}"})
        assert bearer.status_code == 200
        x_api_key = httpx.get(f"{api.url}/api/tags", headers={"x-api-key": token})
        assert x_api_key.status_code == 200
        client = openai.OpenAI(base_url=f"{api.url}/v1", api_key=token, max_retries=0)
        assert [m.id for m in client.models.list()] == [TINY]
        with pytest.raises(openai.AuthenticationError):
            openai.OpenAI(base_url=f"{api.url}/v1", api_key="nope").models.list()
    finally:
        api.stop()


def test_serving_the_network_refuses_to_start_without_a_token(tmp_path: Path) -> None:
    from app.backend.core import HearthCore
    from app.backend.paths import DataPaths

    core = HearthCore(DataPaths(tmp_path / "home"))
    runner = ServerRunner(core)
    with pytest.raises(ServerConfigError):
        runner.start({"port": 0, "serve_on_network": True})
    with pytest.raises(ServerConfigError):
        runner.start({"port": 0, "host": "0.0.0.0"})
    assert runner.addresses == []
    core.close()


def test_a_busy_port_is_reported_with_a_free_one(tmp_path: Path) -> None:
    from app.backend.server.runner import PortInUseError

    blocker = socket.socket()
    blocker.bind(("127.0.0.1", 0))
    blocker.listen()
    port = blocker.getsockname()[1]
    try:
        with pytest.raises(PortInUseError) as info:
            start_api(tiny_home(tmp_path / "home"), port=port)
        assert info.value.suggestion is not None and info.value.suggestion != port
        assert f"Port {port}" in str(info.value)
    finally:
        blocker.close()
