"""``create_app``: the Starlette app with every dialect's routes behind the security gate.

Layers, outermost first: request log (sees refused requests too) → security (Host, Origin,
tokens, body size) → Starlette routing with errors rendered per dialect.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from app.backend.core import HearthCore
from app.backend.remote import engine_name
from app.backend.server import (
    routes_anthropic,
    routes_hearth,
    routes_ollama,
    routes_openai,
    routes_responses,
)
from app.backend.server.errors import ApiError, error_response
from app.backend.server.request_log import LogEntry, RequestLog, RequestLogMiddleware
from app.backend.server.security import ASGIApp, SecurityMiddleware, SecurityPolicy
from app.backend.server.service import ModelService
from app.backend.server.streaming import ClientGone
from app.backend.server.tokens import TokenStore
from app.backend.settings import ServerSettings
from app.backend.usage import api_source

log = logging.getLogger(__name__)


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return error_response(request.url.path, exc.status, exc.message, exc.code)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    message = {404: "No such endpoint.", 405: "Method not allowed."}.get(
        exc.status_code, str(exc.detail)
    )
    return error_response(request.url.path, exc.status_code, message, headers=exc.headers)


async def _client_gone(request: Request, exc: Exception) -> Response:
    return Response(status_code=499)


async def _unexpected(request: Request, exc: Exception) -> Response:
    log.exception("API request failed: %s %s", request.method, request.url.path)
    return error_response(request.url.path, 500, "Internal server error.")


def account(core: HearthCore, entry: LogEntry) -> None:
    """Usage records (tokens per model and client) and the audit trail for one request.

    Runs on the server thread after the response; failures are logged, never raised.
    """
    if entry.path == "/hearth/status":
        return  # the app's own polling, not API use
    who = entry.token_name or entry.client
    # Remote answers (a remote id, or a fallback) are kept apart: they cost nothing here.
    engine = entry.engine or engine_name(entry.model)
    try:
        if entry.model and (entry.tokens_in or entry.tokens_out) and entry.status < 400:
            core.usage.record(
                api_source(who),
                entry.model,
                entry.tokens_in,
                entry.tokens_out,
                started_at=entry.time - entry.duration_ms / 1000,
                duration_s=entry.duration_ms / 1000,
                engine=engine,
            )
        core.audit.append(
            client=who,
            model=entry.model,
            tokens_in=entry.tokens_in,
            tokens_out=entry.tokens_out,
            status=entry.status,
            engine=engine,
            path=entry.path,
        )
    except Exception:
        log.exception("Could not account for an API request")


def create_app(
    core: HearthCore,
    settings: Callable[[], ServerSettings] | None = None,
    tokens: TokenStore | None = None,
    request_log: RequestLog | None = None,
    extra_hosts: Iterable[str] = (),
) -> tuple[ASGIApp, ModelService]:
    """The ASGI app and its model service (the runner asks the service to stop streams)."""
    read_settings = settings or (lambda: core.settings.server)
    tokens = tokens or TokenStore.in_root(core.paths.root)
    request_log = request_log or RequestLog(core.paths.logs)
    service = ModelService(core, read_settings)
    hosts = tuple(extra_hosts)
    request_log.add_listener(lambda entry: account(core, entry))

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        service.start()
        try:
            yield
        finally:
            await service.stop()

    starlette = Starlette(
        routes=[
            *routes_openai.ROUTES,
            *routes_responses.ROUTES,
            *routes_anthropic.ROUTES,
            *routes_ollama.ROUTES,
            *routes_hearth.ROUTES,
        ],
        exception_handlers={
            ApiError: _api_error,
            HTTPException: _http_error,
            ClientGone: _client_gone,
            Exception: _unexpected,
        },
        lifespan=lifespan,
    )
    starlette.state.service = service

    def policy() -> SecurityPolicy:
        current = read_settings()
        return SecurityPolicy(
            tokens=tokens,
            cors_origins=current.cors_origins,
            extra_hosts=hosts,
            max_body_bytes=current.max_body_mb * 1024 * 1024,
        )

    app: Any = RequestLogMiddleware(SecurityMiddleware(starlette, policy), request_log)
    return app, service
