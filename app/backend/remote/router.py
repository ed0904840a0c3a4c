"""Hybrid fallback: answer on the local engine, or on a chosen remote model when it cannot.

Per local model (settings ``fallback``), a request moves to the rule's remote model when the
local model is not loaded, when too many requests already run locally, when the local engine
fails before its first token, or when no token came within a time limit. Switching happens
only before the first token, so the reply is never stitched from two engines; after that a
local failure is reported as is.

The caller gets one handle whatever happens, plus a ``RouteDecision`` (through ``on_route``
and ``handle.route``) that says where the request went and why, for the chat and the request
log. With a ``UsageRecorder`` the router also accounts for the request under the engine that
answered.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from app.backend.engine.client import EngineNotReady, RequestHandle
from app.backend.engine.types import (
    EngineState,
    Event,
    Failed,
    Finished,
    GenerationRequest,
    TokenChunk,
)
from app.backend.remote.client import ChatRequest
from app.backend.remote.endpoints import engine_name, is_remote_id
from app.backend.settings.schema import FallbackRule
from app.backend.usage.recorder import Tracking, UsageRecorder

log = logging.getLogger(__name__)


class Engine(Protocol):
    """What the router needs of an engine (``EngineClient`` and ``RemoteEngine`` both fit)."""

    def submit(
        self, request: Any, on_event: Callable[[Event], None] | None = None
    ) -> RequestHandle: ...


class LocalEngine(Engine, Protocol):
    @property
    def status(self) -> Any: ...

    def in_flight(self) -> int: ...


@dataclass(frozen=True)
class RouteDecision:
    """Where a request went: ``engine`` is "local" or "remote:<endpoint>"."""

    model_id: str  # the model that answers
    engine: str
    reason: str = ""  # why it fell back; empty when it ran where asked

    @property
    def fell_back(self) -> bool:
        return bool(self.reason)

    def notice(self) -> str:
        """One line for the chat and the request log."""
        if not self.fell_back:
            return ""
        return f"Answered by {self.model_id}: {self.reason}."


class RoutedHandle(RequestHandle):
    """A ``RequestHandle`` whose inner request may move from the local to a remote engine."""

    def __init__(self, request_id: str, on_event: Callable[[Event], None] | None) -> None:
        super().__init__(request_id, self._cancel_inner, on_event)
        self.route: RouteDecision | None = None
        self.inner: RequestHandle | None = None
        self.cancelled = False

    def _cancel_inner(self, _request_id: str) -> None:
        self.cancelled = True
        if self.inner is not None:
            self.inner.cancel()


class FallbackRouter:
    """Thread-safe; one per core (``HearthCore.router``)."""

    def __init__(
        self,
        local: Callable[[str], LocalEngine | None],
        remote: Callable[[str], Engine],
        rules: Callable[[str], FallbackRule | None],
        usage: UsageRecorder | None = None,
    ) -> None:
        self._local = local
        self._remote = remote
        self._rules = rules
        self._usage = usage
        self._ids = 0
        self._lock = threading.Lock()

    def _next_id(self) -> str:
        with self._lock:
            self._ids += 1
            return f"f{self._ids}"

    def submit(
        self,
        model_id: str,
        request: GenerationRequest,
        *,
        messages: list[dict[str, Any]] | None = None,
        on_event: Callable[[Event], None] | None = None,
        on_route: Callable[[RouteDecision], None] | None = None,
        source: str = "chat",
    ) -> RoutedHandle:
        """Run ``request`` on ``model_id`` (local or remote id), falling back per its rule.

        ``messages`` (OpenAI shape) are sent to a remote chat endpoint instead of the rendered
        prompt; without them a remote gets the prompt on ``/completions``. Raises
        ``EngineNotReady`` (no model, no rule), ``RemoteError`` or ``LocalOnlyError``.
        """
        run = _Run(self, model_id, request, messages, on_route, source, self._next_id(), on_event)
        run.start()
        return run.handle


class _Run:
    """One routed request: the state machine behind a ``RoutedHandle``."""

    def __init__(
        self,
        router: FallbackRouter,
        model_id: str,
        request: GenerationRequest,
        messages: list[dict[str, Any]] | None,
        on_route: Callable[[RouteDecision], None] | None,
        source: str,
        request_id: str,
        on_event: Callable[[Event], None] | None,
    ) -> None:
        self.router = router
        self.model_id = model_id
        self.request = request
        self.messages = messages
        self.on_route = on_route
        self.source = source
        self.handle = RoutedHandle(request_id, on_event)
        self.rule = router._rules(model_id) if not is_remote_id(model_id) else None
        if self.rule is not None and not self.rule.remote_model:
            self.rule = None
        self._lock = threading.Lock()
        self._started = False  # a token reached the caller
        self._switched = False
        self._timer: threading.Timer | None = None
        self._tracking: Tracking | None = None

    # ---------------------------------------------------------------- start
    def start(self) -> None:
        if is_remote_id(self.model_id):
            self._go_remote(self.model_id, "")
            return
        local = self.router._local(self.model_id)
        rule = self.rule
        ready = local is not None and _state(local) is EngineState.READY
        if not ready:
            if rule is not None and rule.on_not_loaded:
                self._go_remote(rule.remote_model, f"{self.model_id} is not loaded")
                return
            raise EngineNotReady(f"The model '{self.model_id}' is not loaded.")
        assert local is not None
        if rule is not None and rule.busy_in_flight > 0:
            running = local.in_flight()
            if running >= rule.busy_in_flight:
                reason = f"the local engine is busy ({running} requests running)"
                self._go_remote(rule.remote_model, reason)
                return
        self._decide(RouteDecision(self.model_id, "local"))
        self._tracking = self._track(self.model_id, "local")
        try:
            inner = local.submit(self.request, on_event=self._on_local)
        except EngineNotReady:
            self._abandon_tracking()
            if rule is not None and rule.on_not_loaded:
                self._go_remote(rule.remote_model, f"{self.model_id} is not loaded")
                return
            raise
        with self._lock:
            if not self._switched:
                self.handle.inner = inner
        if rule is not None and rule.first_token_timeout_s > 0:
            self._timer = threading.Timer(rule.first_token_timeout_s, self._on_timeout)
            self._timer.daemon = True
            self._timer.start()

    def _decide(self, decision: RouteDecision) -> None:
        self.handle.route = decision
        if decision.fell_back:
            log.info("Request %s: %s", self.handle.id, decision.notice())
        if self.on_route is not None:
            self.on_route(decision)

    def _track(self, model_id: str, engine: str) -> Tracking | None:
        usage = self.router._usage
        return usage.track(self.source, model_id, engine) if usage is not None else None

    def _abandon_tracking(self) -> None:
        tracking, self._tracking = self._tracking, None
        if tracking is not None:
            tracking.abandon()

    # ---------------------------------------------------------------- remote
    def _go_remote(self, remote_id: str, reason: str) -> None:
        engine = self.router._remote(remote_id)  # raises RemoteError / LocalOnlyError
        answering = engine_name(remote_id)  # a valid remote id: _remote refuses others
        self._decide(RouteDecision(remote_id, answering, reason))
        self._tracking = self._track(remote_id, answering)
        request: GenerationRequest | ChatRequest = self.request
        if self.messages is not None:
            request = ChatRequest(self.messages, self.request.sampling, self.source)
        try:
            inner = engine.submit(request, on_event=self._on_remote)
        except Exception:
            self._abandon_tracking()  # refused before sending (Local only switched on)
            raise
        if self.handle.inner is None or self._switched:
            self.handle.inner = inner
        if self.handle.cancelled:
            inner.cancel()

    def _switch(self, reason: str, cancel_local: RequestHandle | None) -> bool:
        """Move to the rule's remote model (only before the first token); True if it did."""
        rule = self.rule
        with self._lock:
            if self._started or self._switched or rule is None or self.handle.cancelled:
                return False
            self._switched = True
        self._abandon_tracking()
        if cancel_local is not None:
            cancel_local.cancel()
        try:
            self._go_remote(rule.remote_model, reason)
        except Exception as exc:
            self.handle.deliver(Failed(self.handle.id, f"{reason}; the fallback failed: {exc}"))
        return True

    # ---------------------------------------------------------------- events
    def _on_local(self, event: Event) -> None:
        with self._lock:
            if self._switched:
                return  # the local request was abandoned for the remote one
            if isinstance(event, TokenChunk):
                self._started = True
        if isinstance(event, Failed) and self.rule is not None and self.rule.on_failure:
            self._cancel_timer()
            if self._switch(f"the local engine failed: {event.message}", None):
                return
        self._forward(event)

    def _on_timeout(self) -> None:
        rule = self.rule
        assert rule is not None
        reason = f"no token from the local engine within {rule.first_token_timeout_s:g} s"
        self._switch(reason, self.handle.inner)

    def _on_remote(self, event: Event) -> None:
        self._forward(event)

    def _forward(self, event: Event) -> None:
        if isinstance(event, TokenChunk):
            self._cancel_timer()
        if isinstance(event, Finished | Failed):
            self._cancel_timer()
            tracking, self._tracking = self._tracking, None
            if tracking is not None:
                stats = event.stats if isinstance(event, Finished) else None
                tracking.finish(
                    stats.prompt_tokens if stats else 0, stats.completion_tokens if stats else 0
                )
            event = _renamed(event, self.handle.id)
        elif isinstance(event, TokenChunk):
            event = TokenChunk(self.handle.id, event.text, event.n_tokens)
        self.handle.deliver(event)

    def _cancel_timer(self) -> None:
        timer, self._timer = self._timer, None
        if timer is not None:
            timer.cancel()


def _state(engine: LocalEngine) -> Any:
    status = getattr(engine, "status", None)
    return getattr(status, "state", None)


def _renamed(event: Finished | Failed, request_id: str) -> Finished | Failed:
    if isinstance(event, Finished):
        return Finished(request_id, event.stop_reason, event.stats)
    return Failed(request_id, event.message, event.engine_crashed)
