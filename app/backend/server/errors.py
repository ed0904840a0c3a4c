"""API errors and how each dialect spells them.

Routes raise :class:`ApiError`; the app renders it in the format of the dialect the path
belongs to, so an OpenAI client sees ``{"error": {...}}``, an Anthropic client
``{"type": "error", ...}`` and an Ollama client ``{"error": "..."}``. Messages pass through
:func:`scrub` so a file-system path never leaves the machine in an error body.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal

from starlette.responses import JSONResponse

Dialect = Literal["openai", "anthropic", "ollama"]

_OPENAI_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "invalid_request_error",
    503: "server_error",
}
_ANTHROPIC_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    503: "overloaded_error",
}
# Absolute POSIX paths with at least two components, Windows drive paths, and UNC paths.
_PATH = re.compile(
    r"(?:(?<![\w.:/])/(?:[^\s/'\"]+/)+[^\s'\",;)]*)"
    r"|(?:\b[A-Za-z]:\\[^\s'\"]*)"
    r"|(?:\\\\[^\s'\"]+)"
)


class ApiError(Exception):
    """An error with an HTTP status, a short code, and a message safe to show a client."""

    def __init__(self, status: int, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = scrub(message)
        self.code = code


def scrub(message: str) -> str:
    """``message`` with file-system paths replaced, so error bodies never reveal them."""
    return _PATH.sub("<path>", message)


def dialect_for(path: str) -> Dialect:
    """Which API family a request path belongs to (decides the error format)."""
    if path.startswith("/api/"):
        return "ollama"
    if path.startswith("/v1/messages"):
        return "anthropic"
    return "openai"


def error_body(dialect: Dialect, status: int, message: str, code: str | None = None) -> Any:
    message = scrub(message)
    if dialect == "ollama":
        return {"error": message}
    if dialect == "anthropic":
        kind = _ANTHROPIC_TYPES.get(status, "api_error")
        return {"type": "error", "error": {"type": kind, "message": message}}
    kind = _OPENAI_TYPES.get(status, "server_error")
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


def error_response(
    path: str,
    status: int,
    message: str,
    code: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    return JSONResponse(
        error_body(dialect_for(path), status, message, code), status_code=status, headers=headers
    )
