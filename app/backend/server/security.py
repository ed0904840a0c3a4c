"""The gate every request passes: Host allowlist, Origin/CORS, API tokens, body size.

A pure ASGI middleware (no ``BaseHTTPMiddleware``), so it adds microseconds and never
interferes with streaming or disconnect detection.

* Host: DNS rebinding makes a hostile page's own domain resolve to 127.0.0.1, so its
  requests arrive with ``Host: evil.example``. Only loopback names, IP literals (which
  cannot be rebound) and, when serving the network, this machine's names are accepted.
* Origin: a browser sends one on every cross-site request; one not on the CORS list is
  refused outright (403) and gets no CORS headers, so a web page can neither read replies
  nor make the engine work for it.
* Tokens: once any token exists, every route needs one (``Authorization: Bearer`` or
  ``x-api-key``); checks are constant-time (see :mod:`tokens`).
* Body: larger than the limit → 413 before the app reads it.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

from starlette.responses import Response

from app.backend.server.errors import error_response
from app.backend.server.tokens import TokenStore

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
ALLOWED_HEADERS = "authorization, content-type, x-api-key, anthropic-version, openai-beta"


def machine_names() -> set[str]:
    """This machine's own host names (accepted in Host when serving the local network)."""
    names: set[str] = set()
    try:
        hostname = socket.gethostname().lower()
        names |= {hostname, f"{hostname}.local", socket.getfqdn().lower()}
    except OSError:
        pass
    return {n for n in names if n}


@dataclass
class SecurityPolicy:
    tokens: TokenStore
    cors_origins: Iterable[str] = ()
    extra_hosts: Iterable[str] = ()
    max_body_bytes: int = 16 * 1024 * 1024
    _hosts: frozenset[str] = field(init=False)
    _origins: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        self._hosts = LOOPBACK_NAMES | {h.lower() for h in self.extra_hosts}
        self._origins = frozenset(o.rstrip("/").lower() for o in self.cors_origins if o)

    def host_allowed(self, host_header: str) -> bool:
        host = host_name(host_header)
        if not host:
            return False
        if host in self._hosts:
            return True
        try:
            ipaddress.ip_address(host)
        except ValueError:
            return False
        return True

    def origin_allowed(self, origin: str) -> bool:
        return origin.rstrip("/").lower() in self._origins


def host_name(host_header: str) -> str:
    """The host part of a Host header, lower case, without port or IPv6 brackets."""
    value = host_header.strip().lower()
    if value.startswith("["):
        end = value.find("]")
        return value[1:end] if end > 0 else ""
    if value.count(":") == 1:
        value = value.split(":", 1)[0]
    return value


def presented_token(headers: dict[str, str]) -> str | None:
    auth = headers.get("authorization", "")
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip()
    return headers.get("x-api-key") or None


class SecurityMiddleware:
    def __init__(self, app: ASGIApp, policy: Callable[[], SecurityPolicy]) -> None:
        self.app = app
        self.policy = policy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        policy = self.policy()
        path = scope.get("path", "")
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}

        async def reject(status: int, message: str, extra: dict | None = None) -> None:
            await error_response(path, status, message, headers=extra)(scope, receive, send)

        if not policy.host_allowed(headers.get("host", "")):
            await reject(400, "Invalid Host header.")
            return
        origin = headers.get("origin")
        cors: dict[str, str] = {}
        if origin is not None:
            if not policy.origin_allowed(origin):
                await reject(403, "This origin is not allowed to use the API.")
                return
            cors = {"access-control-allow-origin": origin, "vary": "Origin"}
            if scope["method"] == "OPTIONS" and "access-control-request-method" in headers:
                preflight = {
                    **cors,
                    "access-control-allow-methods": "GET, POST, DELETE, OPTIONS",
                    "access-control-allow-headers": headers.get(
                        "access-control-request-headers", ALLOWED_HEADERS
                    ),
                    "access-control-max-age": "600",
                }
                await Response(status_code=204, headers=preflight)(scope, receive, send)
                return
        try:
            needs_token = policy.tokens.enabled()
        except RuntimeError as exc:
            await reject(500, str(exc), cors)
            return
        if needs_token:
            token = presented_token(headers)
            record = policy.tokens.verify(token) if token is not None else None
            if record is None:
                await reject(
                    401,
                    "A valid API token is required (Authorization: Bearer … or x-api-key).",
                    {**cors, "www-authenticate": "Bearer"},
                )
                return
            # The token's name (never the token) labels this request in logs and usage.
            scope.setdefault("state", {}).setdefault("hearth", {})["token_name"] = record.name
        length = headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > policy.max_body_bytes):
            status = 413 if length.isdigit() else 400
            await reject(status, "The request body is too large.", cors)
            return
        body_receive = await _buffered_body(receive, policy.max_body_bytes)
        if body_receive is None:
            await reject(413, "The request body is too large.", cors)
            return
        await self.app(scope, body_receive, _with_headers(send, cors) if cors else send)


async def _buffered_body(receive: Receive, limit: int) -> Receive | None:
    """Read the whole body (bounded), then replay it; later calls pass through (disconnects)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            pending: list[Message] | None = [message]
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            pending = None
            break
    body = b"".join(chunks)
    delivered = False

    async def replay() -> Message:
        nonlocal delivered, pending
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        if pending:
            return pending.pop()
        return await receive()

    return replay


def _with_headers(send: Send, extra: dict[str, str]) -> Send:
    encoded = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in extra.items()]

    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            message["headers"] = [*message.get("headers", []), *encoded]
        await send(message)

    return wrapped
