"""Hybrid fallback for API requests: the chat's ``FallbackRouter``, fed what a remote needs.

A request for a local model that has a fallback rule (Usage → Remote engines) is handed to a
``FallbackRouter`` built for that one request: it runs locally, or on the rule's remote model
when the local model is not loaded, is busy past the rule's threshold, fails before its first
token, or sends no token in time. A remote chat endpoint gets the request's messages, not the
prompt rendered with the local template, and sampling without the local template's stop
strings (a cloud API allows four stops and would not know them).

A rule that covers "not loaded" wins over loading on demand: the remote answers at once and
the local model stays unloaded (loading can take minutes; that is what the rule is for).
Requests that use what a remote is not sent (tools, grammars, JSON formats) never fall back.

Usage is not counted here (``usage=None``): the request log's ``account`` hook records every
API request once, under the model and engine that answered.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from app.backend.core import HearthCore
from app.backend.engine.client import EngineClient, RequestHandle
from app.backend.engine.types import EngineState, Event, GenerationRequest, SamplingParams
from app.backend.remote import ChatRequest, FallbackRouter, RemoteEngine
from app.backend.settings.schema import FallbackRule


@dataclass
class Fallback:
    """One request's fallback: its rule and what the remote model would be sent."""

    rule: FallbackRule
    messages: list[dict[str, Any]] | None  # OpenAI wire messages; None: a plain prompt
    sampling: SamplingParams  # for the remote (no local template stops)
    local: EngineClient | None  # the loaded engine; None sends the request straight on


def is_ready(core: HearthCore, model_id: str) -> bool:
    engine = core.engines.get(model_id)
    return engine is not None and engine.status.state is EngineState.READY


class _WithSampling:
    """A remote engine that sends the request's remote sampling instead of the local one."""

    def __init__(self, engine: RemoteEngine, sampling: SamplingParams) -> None:
        self._engine = engine
        self._sampling = sampling

    def submit(
        self, request: Any, on_event: Callable[[Event], None] | None = None
    ) -> RequestHandle:
        if isinstance(request, ChatRequest):
            request = ChatRequest(request.messages, self._sampling, request.source)
        elif isinstance(request, GenerationRequest):
            request = GenerationRequest(
                request.prompt, self._sampling, request.add_bos, request.source
            )
        return self._engine.submit(request, on_event=on_event)


def router_for(core: HearthCore, fallback: Fallback) -> FallbackRouter:
    """A router for one request: its local engine (or none), its rule, its remote sampling."""
    local = fallback.local
    return FallbackRouter(
        lambda _model_id: local,
        lambda remote_id: _WithSampling(core.remotes.engine(remote_id), fallback.sampling),
        lambda _model_id: fallback.rule,
        None,
    )
