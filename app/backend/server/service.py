"""Between the routes and the engine: model names, on-demand loads, admission, streaming.

Every dialect goes through :class:`ModelService`: it resolves a model name (the ids of
``hearth ls``, Ollama ``repo:quant`` names, a unique fragment), returns the shared engine
(loading it on demand, once, however many first requests arrive together), admits the
request under the per-model cap, and turns the engine's callback events into an async
stream. Leaving the stream early (client gone, server stopping) cancels the engine request.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from app.backend.core import HearthCore
from app.backend.engine.client import (
    EngineClient,
    EngineNotReady,
    RequestHandle,
)
from app.backend.engine.types import Event, Failed, Finished, GenerationRequest
from app.backend.library import LocalModel, ModelNotFound
from app.backend.privacy import LocalOnlyError
from app.backend.prompting import PromptBuilder, PromptError, prompt_builder_for
from app.backend.remote import ChatRequest, RemoteEngine, RemoteError, RemoteModel, RouteDecision
from app.backend.server.admission import Admission, QueueFull
from app.backend.server.errors import ApiError
from app.backend.server.fallback import Fallback, router_for
from app.backend.settings import ServerSettings

log = logging.getLogger(__name__)
SCAN_CACHE_S = 2.0
REMOTE_SCAN_CACHE_S = 30.0


@dataclass(frozen=True)
class RemoteRef:
    """A remote model where the routes expect a model: only its id is used."""

    id: str


IDLE_CHECK_S = 15.0


@dataclass
class Stats:
    """Live counters for the Server page and ``hearth ps``."""

    running: int
    queued: int
    served: int
    loaded: list[dict[str, Any]]


class Generation:
    """One admitted engine request seen from asyncio; closing it early cancels the request."""

    def __init__(
        self, service: ModelService, model_id: str, loop: asyncio.AbstractEventLoop
    ) -> None:
        self.service = service
        self.model_id = model_id
        self.handle: RequestHandle | None = None
        self.route: RouteDecision | None = None  # set when the request went through a rule
        self.finished = False
        self._loop = loop
        self._queue: asyncio.Queue[Event] = asyncio.Queue()
        self._released = False

    def on_event(self, event: Event) -> None:
        """Called on the engine's pump thread."""
        with contextlib.suppress(RuntimeError):  # the loop is gone: nobody is listening
            self._loop.call_soon_threadsafe(self._queue.put_nowait, event)
            if isinstance(event, Finished | Failed):
                self._loop.call_soon_threadsafe(self.release)

    def on_route(self, decision: RouteDecision) -> None:
        """Where a routed request went (any thread; the last decision wins)."""
        self.route = decision

    def release(self) -> None:
        """Give the admission slot back (once the engine is done with the request)."""
        if not self._released:
            self._released = True
            self.service.admission.release(self.model_id)

    async def events(self) -> AsyncIterator[Event]:
        try:
            while True:
                event = await self._queue.get()
                if isinstance(event, Finished | Failed):
                    self.finished = True
                    self.service.served += 1
                yield event
                if self.finished:
                    return
        finally:
            self.close()

    def close(self) -> None:
        """Stop caring about the reply: cancel it in the engine unless it already ended."""
        self.service._handles.discard(self)
        if not self.finished and self.handle is not None:
            self.finished = True
            self.handle.cancel()
        self.service.core.engines.touch(self.model_id)


def admission_key(model_id: str, fallback: Fallback | None) -> str:
    """Whose slots a request takes: the local model's, or the remote's when its rule will
    send it there anyway (not loaded, or busy past the threshold).

    Deciding before admission matters: a busy request must not wait in the local model's
    line (up to ``max_parallel`` running) only to be sent away once a slot frees. The router
    checks again when the request is handed over; the two agree but for a request that
    ends in between, and then one request runs locally under the remote's slot.
    """
    if fallback is None:
        return model_id
    rule, local = fallback.rule, fallback.local
    if local is None:
        return rule.remote_model if rule.on_not_loaded else model_id
    if rule.busy_in_flight > 0 and local.in_flight() >= rule.busy_in_flight:
        return rule.remote_model
    return model_id


class ModelService:
    """Owned by one server; every method runs on the server's event loop unless noted."""

    def __init__(self, core: HearthCore, settings: Callable[[], ServerSettings]) -> None:
        self.core = core
        self.settings = settings
        self.admission = Admission(
            lambda: self.settings().max_parallel, lambda: self.settings().max_queue
        )
        self.jit_loaded: set[str] = set()
        self.served = 0
        self.closing = False
        self._handles: set[Generation] = set()
        self._builders: dict[str, tuple[int | None, PromptBuilder]] = {}
        self._scan: tuple[float, list[LocalModel]] = (0.0, [])
        self._remote_scan: tuple[float, list[RemoteModel]] = (-1e9, [])
        self._idle_task: asyncio.Task[None] | None = None

    # ---------------------------------------------------------- remote models
    async def remote_models(self) -> list[RemoteModel]:
        """Models of the enabled remote endpoints (none while Local only is on).

        Asked off the event loop and remembered briefly: each listing is a network call.
        """
        stamp, listed = self._remote_scan
        if time.monotonic() - stamp <= REMOTE_SCAN_CACHE_S:
            return listed
        registry = self.core.remotes
        if self.core.privacy.local_only or not any(e.enabled for e in registry.endpoints()):
            listed = []
        else:
            try:
                listed = list((await asyncio.to_thread(registry.list_all)).models)
            except Exception:
                log.exception("Listing remote models failed")
                listed = []
        self._remote_scan = (time.monotonic(), listed)
        return listed

    async def remote_engine(self, model_id: str) -> RemoteEngine:
        """The engine for ``remote:<endpoint>/<model>``: 404 if unknown, 403 while Local only."""
        try:
            return await asyncio.to_thread(self.core.remotes.engine, model_id)
        except LocalOnlyError as exc:
            raise ApiError(403, str(exc), "local_only") from exc
        except RemoteError as exc:
            raise ApiError(404, str(exc), "model_not_found") from exc

    # ------------------------------------------------------------------ models
    async def models(self) -> list[LocalModel]:
        """Installed models (a library scan, cached for a moment, run off the loop)."""
        stamp, models = self._scan
        if time.monotonic() - stamp > SCAN_CACHE_S:
            models = await asyncio.to_thread(self.core.library.scan)
            self._scan = (time.monotonic(), models)
        return [m for m in models if not m.error]

    async def resolve(self, name: object) -> LocalModel:
        """The model a request names; no name means the one loaded model, if exactly one."""
        if name is not None and not isinstance(name, str):  # straight from the JSON body
            raise ApiError(400, "'model' must be a string.")
        if not name:
            loaded = self.core.engines.loaded()
            if len(loaded) == 1:
                return loaded[0].model
            raise ApiError(400, "Name a model ('model'); see GET /v1/models.", "model_required")
        for loaded_model in self.core.engines.loaded():
            if name in (loaded_model.model.id, loaded_model.model.ollama_name):
                return loaded_model.model
        for model in await self.models():
            if name == model.id or name.lower() in (model.ollama_name, f"{model.ollama_name}"):
                return model
        if name.lower().endswith(".gguf"):
            raise ApiError(404, f"The model '{name}' does not exist.", "model_not_found")
        try:
            model = await asyncio.to_thread(self.core.library.resolve, name)
        except ModelNotFound as exc:
            raise ApiError(404, str(exc).split(" Run ")[0], "model_not_found") from exc
        if model.error:
            raise ApiError(404, f"The model '{name}' cannot be used: {model.error}")
        return model

    async def engine(self, model: LocalModel) -> EngineClient:
        """The model's engine, loaded on demand (single-flight in the engine manager)."""
        engine = self.core.engines.get(model.id)
        if engine is not None:
            return engine
        if self.closing:
            raise ApiError(503, "The server is stopping.", "server_stopping")
        if not self.settings().jit_loading:
            raise ApiError(
                503,
                f"The model '{model.id}' is not loaded and loading on demand is off. "
                "Load it in Hearth or with 'hearth load'.",
                "model_not_loaded",
            )
        try:
            engine = await asyncio.to_thread(self.core.engines.load, model)
        except Exception as exc:  # load errors, planner refusals, unreadable files alike
            raise ApiError(503, f"The model '{model.id}' could not be loaded: {exc}") from exc
        self.jit_loaded.add(model.id)
        return engine

    async def prompt_builder(self, model: LocalModel, engine: EngineClient) -> PromptBuilder:
        """How this model turns messages into a prompt (cached per engine process)."""
        cached = self._builders.get(model.id)
        if cached is not None and cached[0] == engine.engine_pid:
            return cached[1]

        def build() -> PromptBuilder:
            override = self.core.template_override(model.id)
            builder = prompt_builder_for(model.path, engine.status.info, override)
            builder.validate()
            return builder

        try:
            builder = await asyncio.to_thread(build)
        except PromptError as exc:
            raise ApiError(400, f"The model's prompt template failed: {exc}") from exc
        self._builders[model.id] = (engine.engine_pid, builder)
        return builder

    # -------------------------------------------------------------- generation
    async def submit(
        self,
        model: LocalModel | RemoteRef,
        engine: EngineClient | RemoteEngine | None,
        request: GenerationRequest | ChatRequest,
        fallback: Fallback | None = None,
    ) -> Generation:
        """Admit (or 503 when the queue is full) and hand the request to the engine, or to
        a fallback router when the local model has a rule."""
        if self.closing:
            raise ApiError(503, "The server is stopping.", "server_stopping")
        key = admission_key(model.id, fallback)
        try:
            await self.admission.acquire(key)
        except QueueFull as exc:
            raise ApiError(
                503, "The server is busy: too many requests are waiting. Retry shortly.", "busy"
            ) from exc
        generation = Generation(self, key, asyncio.get_running_loop())
        if self.closing:
            generation.release()
            raise ApiError(503, "The server is stopping.", "server_stopping")
        request.source = "api"
        if fallback is not None:
            await self._submit_routed(generation, model.id, request, fallback)
            self._handles.add(generation)
            return generation
        try:
            if isinstance(engine, RemoteEngine):  # noqa: SIM114 - two branches narrow the types
                generation.handle = engine.submit(request, on_event=generation.on_event)
            elif isinstance(request, GenerationRequest) and engine is not None:
                generation.handle = engine.submit(request, on_event=generation.on_event)
            else:
                raise ApiError(400, "A chat request needs a remote model.")
        except (EngineNotReady, LocalOnlyError) as exc:
            generation.release()
            raise ApiError(503, f"The model '{model.id}' is not ready: {exc}") from exc
        self._handles.add(generation)
        return generation

    async def _submit_routed(
        self,
        generation: Generation,
        model_id: str,
        request: GenerationRequest | ChatRequest,
        fallback: Fallback,
    ) -> None:
        """Through the rule's router, off the loop (a remote engine may read the keyring)."""
        if not isinstance(request, GenerationRequest):
            generation.release()
            raise ApiError(400, "A routed request needs the local model's prompt.")
        router = router_for(self.core, fallback)
        try:
            generation.handle = await asyncio.to_thread(
                router.submit,
                model_id,
                request,
                messages=fallback.messages,
                on_event=generation.on_event,
                on_route=generation.on_route,
                source="api",
            )
        except EngineNotReady as exc:
            generation.release()
            raise ApiError(503, f"The model '{model_id}' is not ready: {exc}") from exc
        except LocalOnlyError as exc:
            generation.release()
            raise ApiError(403, str(exc), "local_only") from exc
        except RemoteError as exc:
            generation.release()
            raise ApiError(
                503, f"The model '{model_id}' could not answer and its fallback failed: {exc}"
            ) from exc

    async def embed(self, model: LocalModel, engine: EngineClient, texts: list[str]) -> Any:
        try:
            return await asyncio.to_thread(engine.embed, texts)
        except EngineNotReady as exc:
            raise ApiError(503, f"The model '{model.id}' is not ready: {exc}") from exc
        except Exception as exc:
            raise ApiError(400, f"Embedding failed: {exc}") from exc

    async def count_tokens(self, engine: EngineClient, text: str) -> int:
        try:
            return len(await asyncio.to_thread(engine.tokenize, text, False))
        except Exception:
            return 0

    # ---------------------------------------------------------------- lifecycle
    def start(self) -> None:
        self._idle_task = asyncio.get_running_loop().create_task(self._unload_idle_loop())

    async def stop(self, grace_s: float = 3.0) -> None:
        """End every running generation cleanly (their streams finish) and stop the idle loop."""
        self.closing = True
        for generation in list(self._handles):
            if generation.handle is not None:
                generation.handle.cancel()
        deadline = time.monotonic() + grace_s
        while self._handles and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        if self._idle_task is not None:
            self._idle_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._idle_task

    async def _unload_idle_loop(self) -> None:
        while True:
            await asyncio.sleep(IDLE_CHECK_S)
            with contextlib.suppress(Exception):
                await asyncio.to_thread(self.unload_idle)

    def unload_idle(self) -> list[str]:
        """Unload models the server loaded that sat idle past the TTL (any thread)."""
        ttl_min = self.settings().idle_ttl_minutes
        if ttl_min <= 0:
            return []
        now = time.monotonic()
        unloaded = []
        for loaded in self.core.engines.loaded():
            model_id = loaded.model.id
            idle = now - loaded.last_used > ttl_min * 60
            if model_id in self.jit_loaded and idle and loaded.client.in_flight() == 0:
                self.core.engines.unload(model_id)
                self.jit_loaded.discard(model_id)
                unloaded.append(model_id)
        return unloaded

    def stats(self) -> Stats:
        loaded = [
            {
                "id": m.model.id,
                "in_flight": m.client.in_flight(),
                "jit": m.model.id in self.jit_loaded,
                "idle_s": round(time.monotonic() - m.last_used, 1),
                "n_ctx": m.params.n_ctx,
            }
            for m in self.core.engines.loaded()
        ]
        return Stats(self.admission.running, self.admission.waiting, self.served, loaded)
