"""Request plumbing shared by the three dialects: JSON bodies, model preparation, runs."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request

from app.backend.engine.client import EngineClient
from app.backend.engine.types import (
    Event,
    Failed,
    Finished,
    GenerationRequest,
    SamplingParams,
    TokenChunk,
    TokenLogprob,
)
from app.backend.library import LocalModel
from app.backend.prompting import PromptBuilder
from app.backend.remote import ChatRequest, RemoteEngine, engine_name, is_remote_id
from app.backend.server.errors import ApiError
from app.backend.server.fallback import Fallback, is_ready
from app.backend.server.prompts import sampling_from, text_of
from app.backend.server.request_log import annotate
from app.backend.server.service import Generation, ModelService, RemoteRef
from app.backend.server.streaming import unless_disconnected
from app.backend.settings.schema import FallbackRule
from app.backend.templates import RenderedPrompt

REMOTE_DEFAULT_MAX_TOKENS = 1024


def service_of(request: Request) -> ModelService:
    service: ModelService = request.app.state.service
    return service


async def read_json(request: Request) -> dict[str, Any]:
    """The body as a JSON object; anything else is a 400 in the route's dialect."""
    raw = await request.body()
    try:
        body = json.loads(raw) if raw else None
    except ValueError as exc:
        raise ApiError(400, f"The request body is not valid JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise ApiError(400, "The request body must be a JSON object.")
    return body


def get(body: dict[str, Any], key: str, kind: type | tuple[type, ...], default: Any = None) -> Any:
    """``body[key]`` checked against ``kind`` (400 if it has another type)."""
    value = body.get(key)
    if value is None:
        return default
    kinds = kind if isinstance(kind, tuple) else (kind,)
    bad_bool = isinstance(value, bool) and bool not in kinds
    if not isinstance(value, kind) or bad_bool:
        raise ApiError(400, f"'{key}' has the wrong type.")
    return value


@dataclass
class Prepared:
    model: LocalModel
    engine: EngineClient
    builder: PromptBuilder


@dataclass
class PreparedRemote:
    """A remote OpenAI-compatible model: it applies its own chat template."""

    model: RemoteRef
    engine: RemoteEngine


@dataclass
class Routed:
    """A local model that is not loaded and whose rule sends such requests to a remote."""

    model: LocalModel
    rule: FallbackRule
    engine: None = None


@dataclass
class Target:
    """Who answers a text request: a loaded local model (``local``, perhaps with a fallback
    ``rule``), a remote model named by the request, or a remote by a not-loaded rule."""

    local: Prepared | None = None
    rule: FallbackRule | None = None
    remote: PreparedRemote | Routed | None = None


async def prepare_remote(request: Request, name: str) -> PreparedRemote:
    engine = await service_of(request).remote_engine(name)
    annotate(request.scope, model=name, engine=engine_name(name))
    return PreparedRemote(RemoteRef(name), engine)


def _model_name(name: Any) -> str | None:
    if name is not None and not isinstance(name, str):
        raise ApiError(400, "'model' must be a string.")
    return name


async def prepare(request: Request, name: Any) -> Prepared:
    """Resolve the named model, make sure it is loaded, and get its prompt builder."""
    name = _model_name(name)
    if isinstance(name, str) and is_remote_id(name):
        raise ApiError(
            400,
            "Remote models answer chat and completion requests, not this endpoint.",
            "unsupported_model",
        )
    return await prepare_model(request, await service_of(request).resolve(name))


async def prepare_model(request: Request, model: LocalModel) -> Prepared:
    service = service_of(request)
    annotate(request.scope, model=model.id)
    engine = await service.engine(model)
    builder = await service.prompt_builder(model, engine)
    return Prepared(model, engine, builder)


async def choose(request: Request, name: Any, *, plain: bool = True) -> Target:
    """The answering side of a text request.

    A remote id answers remotely. A local model is prepared (loaded on demand) as always,
    unless it has a fallback rule for "not loaded" and is not loaded: then the rule's
    remote answers without loading it. ``plain`` is False when the request uses what a
    remote is not sent (tools, grammars): such a request never falls back.
    """
    name = _model_name(name)
    if isinstance(name, str) and is_remote_id(name):
        return Target(remote=await prepare_remote(request, name))
    service = service_of(request)
    model = await service.resolve(name)
    rule = service.core.fallback_rule(model.id) if plain else None
    if rule is not None and rule.on_not_loaded and not is_ready(service.core, model.id):
        annotate(request.scope, model=model.id)
        return Target(rule=rule, remote=Routed(model, rule))
    return Target(local=await prepare_model(request, model), rule=rule)


def remote_sampling(
    request: Request, values: dict[str, Any], keys: dict[str, str], max_tokens: int | None = None
) -> SamplingParams:
    """Sampling for a remote model: Hearth's defaults and the request's values, no stops
    from a local template, and a bounded default reply length (no context size is known)."""
    defaults = service_of(request).core.settings.sampling_defaults
    sampling = SamplingParams.from_dict(defaults.to_dict())
    sampling.stop, sampling.max_tokens = [], max_tokens or REMOTE_DEFAULT_MAX_TOKENS
    return sampling_from(sampling, values, keys)


def wire_messages(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Role and text only: what any OpenAI-compatible chat endpoint accepts."""
    return [{"role": m["role"], "content": text_of(m.get("content"))} for m in messages]


def remote_run(
    request: Request,
    target: Target,
    sampling: SamplingParams,
    messages: list[dict[str, Any]] | None,
    prompt: str | None = None,
) -> Run:
    """A run on a remote: the named one (messages to its chat endpoint, or ``prompt`` to its
    completions endpoint), or, for a not-loaded local model, through the model's rule."""
    remote = target.remote
    assert remote is not None
    if messages is not None:
        log_prompt(request, "\n".join(str(m["content"]) for m in messages))
    elif prompt is not None:
        log_prompt(request, prompt)
    if isinstance(remote, Routed):
        placeholder = GenerationRequest(prompt or "", sampling, source="api")
        return Run(request, remote, placeholder, Fallback(remote.rule, messages, sampling, None))
    gen: GenerationRequest | ChatRequest = (
        ChatRequest(messages, sampling, source="api")
        if messages is not None
        else GenerationRequest(prompt or "", sampling, source="api")
    )
    return Run(request, remote, gen)


def base_sampling(request: Request, engine: EngineClient) -> SamplingParams:
    """Hearth's default sampling; with no limit asked for, a reply may fill the context."""
    defaults = service_of(request).core.settings.sampling_defaults
    sampling = SamplingParams.from_dict(defaults.to_dict())
    sampling.stop = []
    info = engine.status.info
    sampling.max_tokens = info.n_ctx if info else 4096
    return sampling


def generation(
    rendered: RenderedPrompt,
    sampling: SamplingParams,
    grammar: str | None = None,
    logprobs: int | None = None,
) -> GenerationRequest:
    return GenerationRequest(
        prompt=rendered.text,
        sampling=sampling,
        add_bos=not rendered.starts_with_bos,
        source="api",
        grammar=grammar,
        logprobs=logprobs,
    )


def log_prompt(request: Request, text: str) -> None:
    if service_of(request).settings().log_prompts:
        annotate(request.scope, prompt=text[:4000])


class Run:
    """One generation as the routes see it: text chunks, then the final outcome."""

    def __init__(
        self,
        request: Request,
        prepared: Prepared | PreparedRemote | Routed,
        gen: GenerationRequest | ChatRequest,
        fallback: Fallback | None = None,
    ) -> None:
        self.request = request
        self.prepared = prepared
        self.gen = gen
        self.fallback = fallback
        self.final: Finished | None = None
        self.text_parts: list[str] = []
        self.logprobs: list[TokenLogprob] = []  # filled when the request asked for them
        self.generation: Generation | None = None
        self._events: AsyncIterator[Event] | None = None
        self._first: Event | None = None

    async def start(self) -> None:
        """Admit and submit now, so a full queue is a 503 before any stream begins.

        A routed request also waits for its first event: the router switches engines only
        before the first token, so after it the answering model (response headers, the
        ``model`` field) is settled, and a failure is a plain HTTP error, not a broken stream.
        """
        service = service_of(self.request)
        submit = service.submit(self.prepared.model, self.prepared.engine, self.gen, self.fallback)
        self.generation = await unless_disconnected(self.request, submit)
        self._events = self.generation.events()
        if self.fallback is None:
            return
        events = self._events
        self._first = await unless_disconnected(self.request, anext(events))
        self._note_route()
        first = self._first
        if isinstance(first, Failed):
            self.close()
            route = self.generation.route
            if route is not None and route.fell_back:  # say why the remote was asked at all
                text = f"{route.reason}; its fallback {route.model_id} failed: {first.message}"
                first = Failed(first.request_id, text, first.engine_crashed)
            raise _failure(first)

    def close(self) -> None:
        if self.generation is not None:
            self.generation.close()

    def _note_route(self) -> None:
        route = self.generation.route if self.generation is not None else None
        if route is not None:
            annotate(
                self.request.scope,
                model=route.model_id,
                engine=engine_name(route.model_id),
                fallback=route.notice(),
            )

    @property
    def model_id(self) -> str:
        """The model that answers (the fallback's remote model when the request moved)."""
        route = self.generation.route if self.generation is not None else None
        return route.model_id if route is not None else self.prepared.model.id

    def headers(self) -> dict[str, str]:
        """``X-Hearth-Answered-By`` (and ``X-Hearth-Fallback`` with the reason, if it moved)."""
        headers = {"X-Hearth-Answered-By": _header_text(self.model_id)}
        route = self.generation.route if self.generation is not None else None
        if route is not None and route.fell_back:
            headers["X-Hearth-Fallback"] = _header_text(route.reason)
        return headers

    async def _all_events(self) -> AsyncIterator[Event]:
        if self._events is None:
            await self.start()
        assert self._events is not None
        first, self._first = self._first, None
        if first is not None:
            yield first
        async for event in self._events:
            yield event

    async def chunks(self) -> AsyncIterator[str]:
        """Text as it comes; raises ApiError if the engine fails."""
        async for text, _logprobs in self.pieces():
            if text:
                yield text

    async def pieces(self) -> AsyncIterator[tuple[str, list[TokenLogprob] | None]]:
        """Like ``chunks``, with each chunk's token log-probabilities (None when not asked);
        a chunk whose text is held back (a stop string may be forming) still brings them."""
        async for event in self._all_events():
            if isinstance(event, TokenChunk):
                if event.text:
                    self.text_parts.append(event.text)
                if event.logprobs:
                    self.logprobs.extend(event.logprobs)
                if event.text or event.logprobs:
                    yield event.text, event.logprobs
            elif isinstance(event, Failed):
                raise _failure(event)
            else:
                self.final = event
                stats = event.stats
                annotate(
                    self.request.scope,
                    tokens_in=stats.prompt_tokens,
                    tokens_out=stats.completion_tokens,
                )

    async def whole(self) -> str:
        """The complete reply (cancelled if the client leaves while it is generated)."""

        async def collect() -> str:
            async for _ in self.chunks():
                pass
            return "".join(self.text_parts)

        return await unless_disconnected(self.request, collect())

    @property
    def prompt_tokens(self) -> int:
        return self.final.stats.prompt_tokens if self.final else 0

    @property
    def completion_tokens(self) -> int:
        return self.final.stats.completion_tokens if self.final else 0

    @property
    def stop_reason(self) -> str:
        return self.final.stop_reason if self.final else "cancelled"


def _failure(event: Failed) -> ApiError:
    # A crash (or a remote gone) is the server's trouble; anything else the engine refuses
    # (a prompt longer than the context, a grammar it cannot use) is the request's.
    status = 503 if event.engine_crashed else 400
    return ApiError(status, f"Generation failed: {event.message}")


def _header_text(text: str) -> str:
    """HTTP header values are Latin-1 on one line."""
    flat = " ".join(text.split())
    return flat.encode("ascii", "replace").decode("ascii")[:300]
