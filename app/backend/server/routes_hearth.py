"""Hearth's own management routes (``hearth ps``, ``hearth load``, ``hearth unload``)."""

from __future__ import annotations

import asyncio
from dataclasses import asdict

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from app import __version__
from app.backend.server.common import read_json, service_of
from app.backend.server.errors import ApiError


async def status(request: Request) -> Response:
    stats = service_of(request).stats()
    return JSONResponse({"version": __version__, **asdict(stats)})


async def load(request: Request) -> Response:
    body = await read_json(request)
    service = service_of(request)
    model = await service.resolve(body.get("model"))
    try:
        await asyncio.to_thread(service.core.engines.load, model)
    except Exception as exc:  # load errors, planner refusals, unreadable files alike
        raise ApiError(503, f"The model '{model.id}' could not be loaded: {exc}") from exc
    return JSONResponse({"model": model.id, "loaded": True})


async def unload(request: Request) -> Response:
    body = await read_json(request)
    service = service_of(request)
    model = await service.resolve(body.get("model"))
    done = await asyncio.to_thread(service.core.engines.unload, model.id)
    service.jit_loaded.discard(model.id)
    if not done:
        raise ApiError(404, f"The model '{model.id}' is not loaded.", "model_not_loaded")
    return JSONResponse({"model": model.id, "loaded": False})


ROUTES = [
    Route("/hearth/status", status, methods=["GET"]),
    Route("/hearth/load", load, methods=["POST"]),
    Route("/hearth/unload", unload, methods=["POST"]),
]
