"""Request plumbing shared by the three dialects: JSON bodies, model preparation, runs."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request

from app.backend.engine.client import EngineClient
from app.backend.engine.types import (
    Failed,
    Finished,
    GenerationRequest,
    SamplingParams,
    TokenChunk,
)
from app.backend.library import LocalModel
from app.backend.prompting import PromptBuilder
from app.backend.remote import ChatRequest, RemoteEngine, is_remote_id
from app.backend.server.errors import ApiError
from app.backend.server.request_log import annotate
from app.backend.server.service import Generation, ModelService, RemoteRef
from app.backend.server.streaming import unless_disconnected
from app.backend.templates import RenderedPrompt


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


async def prepare_remote(request: Request, name: str) -> PreparedRemote:
    engine = await service_of(request).remote_engine(name)
    annotate(request.scope, model=name)
    return PreparedRemote(RemoteRef(name), engine)


async def prepare(request: Request, name: Any) -> Prepared:
    """Resolve the named model, make sure it is loaded, and get its prompt builder."""
    if name is not None and not isinstance(name, str):
        raise ApiError(400, "'model' must be a string.")
    if isinstance(name, str) and is_remote_id(name):
        raise ApiError(
            400, "Remote models answer on the chat completions endpoint only.", "unsupported_model"
        )
    service = service_of(request)
    model = await service.resolve(name)
    annotate(request.scope, model=model.id)
    engine = await service.engine(model)
    builder = await service.prompt_builder(model, engine)
    return Prepared(model, engine, builder)


def base_sampling(request: Request, engine: EngineClient) -> SamplingParams:
    """Hearth's default sampling; with no limit asked for, a reply may fill the context."""
    defaults = service_of(request).core.settings.sampling_defaults
    sampling = SamplingParams.from_dict(defaults.to_dict())
    sampling.stop = []
    info = engine.status.info
    sampling.max_tokens = info.n_ctx if info else 4096
    return sampling


def generation(
    rendered: RenderedPrompt, sampling: SamplingParams, grammar: str | None = None
) -> GenerationRequest:
    return GenerationRequest(
        prompt=rendered.text,
        sampling=sampling,
        add_bos=not rendered.starts_with_bos,
        source="api",
        grammar=grammar,
    )


def log_prompt(request: Request, text: str) -> None:
    if service_of(request).settings().log_prompts:
        annotate(request.scope, prompt=text[:4000])


class Run:
    """One generation as the routes see it: text chunks, then the final outcome."""

    def __init__(
        self,
        request: Request,
        prepared: Prepared | PreparedRemote,
        gen: GenerationRequest | ChatRequest,
    ) -> None:
        self.request = request
        self.prepared = prepared
        self.gen = gen
        self.final: Finished | None = None
        self.text_parts: list[str] = []
        self.generation: Generation | None = None

    async def start(self) -> None:
        """Admit and submit now, so a full queue is a 503 before any stream begins."""
        service = service_of(self.request)
        submit = service.submit(self.prepared.model, self.prepared.engine, self.gen)
        self.generation = await unless_disconnected(self.request, submit)

    def close(self) -> None:
        if self.generation is not None:
            self.generation.close()

    async def chunks(self) -> AsyncIterator[str]:
        """Text as it comes; raises ApiError if the engine fails."""
        if self.generation is None:
            await self.start()
        assert self.generation is not None
        async for event in self.generation.events():
            if isinstance(event, TokenChunk):
                if event.text:
                    self.text_parts.append(event.text)
                    yield event.text
            elif isinstance(event, Failed):
                # A crash is the server's trouble; anything else the engine refuses (a prompt
                # longer than the context, a grammar it cannot use) is the request's.
                status = 503 if event.engine_crashed else 400
                raise ApiError(status, f"Generation failed: {event.message}")
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
