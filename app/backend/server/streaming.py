"""Responses that follow a generation: SSE, NDJSON, and whole replies that still notice
a client leaving.

Streams use Starlette's ``StreamingResponse``, which listens for ``http.disconnect`` and
cancels the body iterator; the generation's ``finally`` then cancels the engine request.
Whole (non-streaming) replies race the generation against the disconnect the same way.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

from starlette.requests import ClientDisconnect, Request
from starlette.responses import StreamingResponse

T = TypeVar("T")
NO_BUFFERING = {"cache-control": "no-cache", "x-accel-buffering": "no"}


class ClientGone(Exception):
    """The client disconnected before its reply was ready."""


def sse(event: Any, name: str | None = None) -> bytes:
    data = json.dumps(event, ensure_ascii=False, separators=(",", ":"))
    head = f"event: {name}\n" if name else ""
    return f"{head}data: {data}\n\n".encode()


def ndjson(event: Any) -> bytes:
    return (json.dumps(event, ensure_ascii=False, separators=(",", ":")) + "\n").encode()


class GenerationStream(StreamingResponse):
    """A stream that always lets go of its generation, even if the body never started."""

    def __init__(
        self,
        body: AsyncIterator[bytes],
        media_type: str,
        on_close: Callable[[], None],
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(body, media_type=media_type, headers={**NO_BUFFERING, **(headers or {})})
        self._on_close = on_close

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        try:
            await super().__call__(scope, receive, send)
        except ClientDisconnect:
            pass
        finally:
            self._on_close()


def sse_response(
    body: AsyncIterator[bytes],
    on_close: Callable[[], None],
    headers: dict[str, str] | None = None,
) -> StreamingResponse:
    return GenerationStream(body, "text/event-stream", on_close, headers)


def ndjson_response(
    body: AsyncIterator[bytes],
    on_close: Callable[[], None],
    headers: dict[str, str] | None = None,
) -> StreamingResponse:
    return GenerationStream(body, "application/x-ndjson", on_close, headers)


async def unless_disconnected(request: Request, work: Awaitable[T]) -> T:
    """Run ``work``; if the client disconnects first, cancel it and raise ClientGone."""
    task = asyncio.ensure_future(work)
    watcher = asyncio.ensure_future(_disconnected(request))
    try:
        done, _ = await asyncio.wait({task, watcher}, return_when=asyncio.FIRST_COMPLETED)
    except asyncio.CancelledError:
        task.cancel()
        raise
    finally:
        watcher.cancel()
    if task in done:
        return task.result()
    task.cancel()
    try:
        await task
    except (asyncio.CancelledError, Exception):
        pass
    raise ClientGone


async def _disconnected(request: Request) -> None:
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            return
