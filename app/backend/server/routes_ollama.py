"""Ollama dialect: ``/api/tags``, ``/api/show``, ``/api/ps``, ``/api/version``, ``/api/chat``,
``/api/generate``, ``/api/embed`` (and the older ``/api/embeddings``).

Streams are newline-delimited JSON, on by default, as Ollama does. Models are listed under
the ids of ``hearth ls``; Ollama-style ``repo:quant`` names resolve too.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from app.backend.library import LocalModel
from app.backend.remote import RemoteModel, is_remote_id
from app.backend.server.common import (
    Prepared,
    Run,
    Target,
    base_sampling,
    choose,
    generation,
    get,
    log_prompt,
    prepare,
    read_json,
    remote_run,
    remote_sampling,
    service_of,
    wire_messages,
)
from app.backend.server.errors import ApiError
from app.backend.server.fallback import Fallback
from app.backend.server.grammars import (
    json_object_grammar,
    parse_tool_calls,
    schema_grammar,
    tool_functions,
)
from app.backend.server.prompts import (
    arguments_dict,
    render_chat,
    sampling_from,
    text_of,
    with_prompt_stops,
)
from app.backend.server.request_log import annotate
from app.backend.server.routes_openai import embedding_inputs
from app.backend.server.streaming import ndjson, ndjson_response
from app.backend.templates import RenderedPrompt

OLLAMA_VERSION = "0.12.0"  # the Ollama API level these routes follow
OPTION_KEYS = {
    "temperature": "temperature",
    "top_p": "top_p",
    "top_k": "top_k",
    "min_p": "min_p",
    "repeat_penalty": "repeat_penalty",
    "repeat_last_n": "repeat_last_n",
    "frequency_penalty": "frequency_penalty",
    "presence_penalty": "presence_penalty",
    "num_predict": "max_tokens",
    "seed": "seed",
    "stop": "stop",
}


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def _mtime(model: LocalModel) -> str:
    try:
        stamp = model.path.stat().st_mtime
    except OSError:
        stamp = 0
    return datetime.fromtimestamp(stamp, UTC).isoformat().replace("+00:00", "Z")


def _details(model: LocalModel) -> dict[str, Any]:
    params = model.n_params
    size = f"{params / 1e9:.1f}B" if params >= 1e9 else f"{params / 1e6:.0f}M"
    return {
        "parent_model": "",
        "format": "gguf",
        "family": model.architecture,
        "families": [model.architecture],
        "parameter_size": size,
        "quantization_level": model.quantization,
    }


def _entry(model: LocalModel) -> dict[str, Any]:
    return {
        "name": model.id,
        "model": model.id,
        "modified_at": _mtime(model),
        "size": model.size_bytes,
        "digest": "",
        "details": _details(model),
    }


async def root(request: Request) -> Response:
    return PlainTextResponse("Hearth is running (Ollama-compatible API)")


async def version(request: Request) -> Response:
    return JSONResponse({"version": OLLAMA_VERSION})


def _remote_entry(model: RemoteModel) -> dict[str, Any]:
    details = {"parent_model": "", "format": "remote", "family": "remote", "families": []}
    return {
        "name": model.id,
        "model": model.id,
        "modified_at": _now(),
        "size": 0,
        "digest": "",
        "details": {**details, "parameter_size": "", "quantization_level": ""},
    }


async def tags(request: Request) -> Response:
    """Local models, then the models of enabled remote endpoints (as ``/v1/models`` does)."""
    service = service_of(request)
    local = [_entry(m) for m in await service.models()]
    return JSONResponse(
        {"models": local + [_remote_entry(m) for m in await service.remote_models()]}
    )


async def ps(request: Request) -> Response:
    service = service_of(request)
    ttl = service.settings().idle_ttl_minutes * 60
    entries = []
    for loaded in service.core.engines.loaded():
        expires = time.time() + max(0.0, ttl - (time.monotonic() - loaded.last_used))
        entries.append(
            {
                **_entry(loaded.model),
                "expires_at": datetime.fromtimestamp(expires, UTC).isoformat(),
                "size_vram": loaded.plan.memory.gpu_bytes if loaded.plan else 0,
                "context_length": loaded.params.n_ctx,
            }
        )
    return JSONResponse({"models": entries})


async def _show_remote(request: Request, name: str) -> Response:
    """A remote model as ``/api/tags`` lists it: chat only (tools are not forwarded)."""
    for model in await service_of(request).remote_models():
        if model.id == name:
            entry = _remote_entry(model)
            return JSONResponse(
                {
                    "modelfile": f"# Remote model on {model.endpoint}\n",
                    "parameters": "",
                    "template": "",
                    "details": entry["details"],
                    "model_info": {"general.architecture": "remote", "general.name": name},
                    "capabilities": ["completion"],
                    "modified_at": entry["modified_at"],
                }
            )
    raise ApiError(404, f"The model '{name}' does not exist.", "model_not_found")


async def show(request: Request) -> Response:
    body = await read_json(request)
    name = body.get("model") or body.get("name")
    if isinstance(name, str) and is_remote_id(name):
        return await _show_remote(request, name)
    model = await service_of(request).resolve(name)
    annotate(request.scope, model=model.id)
    capabilities = ["completion", "embedding"]
    return JSONResponse(
        {
            "modelfile": f"# Hearth model {model.id}\nFROM {model.id}\n",
            "parameters": "",
            "template": "",
            "details": _details(model),
            "model_info": {
                "general.architecture": model.architecture,
                "general.name": model.name,
                "general.parameter_count": model.n_params,
                f"{model.architecture}.context_length": model.n_ctx_train,
            },
            "capabilities": capabilities + (["tools"] if model.has_chat_template else []),
            "modified_at": _mtime(model),
        }
    )


# -------------------------------------------------------------- generation
def _option_values(body: dict[str, Any]) -> dict[str, Any]:
    options = dict(get(body, "options", dict, {}) or {})
    if isinstance(options.get("num_predict"), int) and options["num_predict"] < 0:
        options.pop("num_predict")  # -1: until the model stops (or the context is full)
    return options


def _options(request: Request, prepared: Prepared, body: dict[str, Any]) -> Any:
    return sampling_from(base_sampling(request, prepared.engine), _option_values(body), OPTION_KEYS)


def _remote_options(request: Request, body: dict[str, Any]) -> Any:
    return remote_sampling(request, _option_values(body), OPTION_KEYS)


def _refuse_for_remote(target: Target, plain: bool) -> None:
    if target.local is None and not plain:
        raise ApiError(400, "Tools and 'format' are not forwarded to remote models.")


def _format_grammar(body: dict[str, Any]) -> str | None:
    fmt = body.get("format")
    if fmt in (None, ""):
        return None
    if fmt == "json":
        return json_object_grammar()
    if isinstance(fmt, dict):
        return schema_grammar(fmt)
    raise ApiError(400, "'format' must be \"json\" or a JSON schema.")


def _durations(run: Run, started: float) -> dict[str, Any]:
    stats = run.final.stats if run.final else None
    total = int((time.perf_counter() - started) * 1e9)
    eval_ns = int(stats.total_time_s * 1e9) if stats else 0
    return {
        "total_duration": total,
        "load_duration": 0,
        "prompt_eval_count": run.prompt_tokens,
        "prompt_eval_duration": int(stats.time_to_first_token_s * 1e9) if stats else 0,
        "eval_count": run.completion_tokens,
        "eval_duration": eval_ns,
    }


def _done_reason(run: Run) -> str:
    return "length" if run.stop_reason in ("max_tokens", "context_limit") else "stop"


def _chat_messages(raw: Any) -> list[dict[str, Any]]:
    if not isinstance(raw, list):
        raise ApiError(400, "'messages' must be a list.")
    out = []
    for item in raw:
        if not isinstance(item, dict) or item.get("role") not in (
            "system",
            "user",
            "assistant",
            "tool",
        ):
            raise ApiError(400, "Each message needs a role: system, user, assistant or tool.")
        if item.get("images"):
            raise ApiError(400, "Images are not supported by this server.")
        message: dict[str, Any] = {"role": item["role"], "content": text_of(item.get("content"))}
        if item.get("tool_calls"):
            message["tool_calls"] = [
                {
                    "type": "function",
                    "function": {
                        "name": (c.get("function") or {}).get("name"),
                        "arguments": arguments_dict((c.get("function") or {}).get("arguments")),
                    },
                }
                for c in item["tool_calls"]
                if isinstance(c, dict)
            ]
        out.append(message)
    return out


async def chat(request: Request) -> Response:
    body = await read_json(request)
    messages = _chat_messages(body.get("messages"))
    stream = bool(get(body, "stream", bool, True))
    started = time.perf_counter()
    plain = not body.get("tools") and body.get("format") in (None, "")
    target = await choose(request, body.get("model"), plain=plain and bool(messages))
    _refuse_for_remote(target, plain)
    if not messages:  # Ollama loads the model for an empty conversation
        loaded = target.local.model.id if target.local else str(body.get("model"))
        return JSONResponse(
            {
                "model": loaded,
                "created_at": _now(),
                "message": {"role": "assistant", "content": ""},
                "done": True,
                "done_reason": "load",
            }
        )
    functions: list[dict[str, Any]] = []
    if target.local is None:
        run = remote_run(request, target, _remote_options(request, body), wire_messages(messages))
    else:
        prepared = target.local
        functions = tool_functions(body["tools"]) if body.get("tools") else []
        rendered = render_chat(prepared.builder, messages, body.get("tools") if functions else None)
        sampling = _options(request, prepared, body)
        with_prompt_stops(sampling, rendered)
        log_prompt(request, rendered.text)
        fallback = None
        if target.rule is not None:
            far = _remote_options(request, body)
            fallback = Fallback(target.rule, wire_messages(messages), far, prepared.engine)
        gen = generation(rendered, sampling, _format_grammar(body))
        run = Run(request, prepared, gen, fallback)

    def final_message(text: str) -> dict[str, Any]:
        calls = parse_tool_calls(text, functions) if functions else None
        if calls:
            return {
                "role": "assistant",
                "content": "",
                "tool_calls": [
                    {"function": {"name": c.name, "arguments": c.arguments}} for c in calls
                ],
            }
        return {"role": "assistant", "content": text}

    if not stream:
        text = await run.whole()
        return JSONResponse(
            {
                "model": run.model_id,
                "created_at": _now(),
                "message": final_message(text),
                "done": True,
                "done_reason": _done_reason(run),
                **_durations(run, started),
            },
            headers=run.headers(),
        )

    async def lines() -> AsyncIterator[bytes]:
        try:
            async for text in run.chunks():
                if not functions:
                    message = {"role": "assistant", "content": text}
                    yield ndjson(
                        {
                            "model": run.model_id,
                            "created_at": _now(),
                            "message": message,
                            "done": False,
                        }
                    )
        except ApiError as exc:
            yield ndjson({"error": exc.message})
            return
        last = (
            final_message("".join(run.text_parts))
            if functions
            else {"role": "assistant", "content": ""}
        )
        yield ndjson(
            {
                "model": run.model_id,
                "created_at": _now(),
                "message": last,
                "done": True,
                "done_reason": _done_reason(run),
                **_durations(run, started),
            }
        )

    await run.start()
    return ndjson_response(lines(), run.close, run.headers())


async def generate(request: Request) -> Response:
    body = await read_json(request)
    prompt = get(body, "prompt", str, "")
    stream = bool(get(body, "stream", bool, True))
    started = time.perf_counter()
    service = service_of(request)
    name = body.get("model")
    unload = not prompt and body.get("keep_alive") in (0, "0", "0s", "0m")
    if unload and isinstance(name, str) and is_remote_id(name):
        reply = {"model": name, "created_at": _now(), "response": "", "done": True}
        return JSONResponse({**reply, "done_reason": "unload"})  # nothing here to unload
    if unload:
        model = await service.resolve(name)
        await asyncio.to_thread(service.core.engines.unload, model.id)
        service.jit_loaded.discard(model.id)
        reply = {"model": model.id, "created_at": _now(), "response": "", "done": True}
        return JSONResponse({**reply, "done_reason": "unload"})
    raw = bool(get(body, "raw", bool, False))
    plain = body.get("format") in (None, "") and bool(prompt)
    target = await choose(request, body.get("model"), plain=plain)
    _refuse_for_remote(target, body.get("format") in (None, ""))
    if not prompt:
        loaded = target.local.model.id if target.local else str(body.get("model"))
        reply = {"model": loaded, "created_at": _now(), "response": "", "done": True}
        return JSONResponse({**reply, "done_reason": "load"})
    system = get(body, "system", str, "")
    turns = ([{"role": "system", "content": system}] if system else []) + [
        {"role": "user", "content": prompt}
    ]
    joined = (system + "\n\n" if system else "") + prompt
    if target.local is None:
        far = _remote_options(request, body)
        # raw: the prompt as written, to the remote's completions endpoint.
        run = remote_run(request, target, far, None if raw else turns, joined if raw else None)
    else:
        prepared = target.local
        if raw or prepared.builder.mode == "completion":
            rendered = RenderedPrompt(joined)
        else:
            rendered = render_chat(prepared.builder, turns)
        sampling = _options(request, prepared, body)
        with_prompt_stops(sampling, rendered)
        log_prompt(request, rendered.text)
        fallback = None
        if target.rule is not None:
            far = _remote_options(request, body)
            fallback = Fallback(target.rule, None if raw else turns, far, prepared.engine)
        gen = generation(rendered, sampling, _format_grammar(body))
        run = Run(request, prepared, gen, fallback)

    if not stream:
        text = await run.whole()
        return JSONResponse(
            {
                "model": run.model_id,
                "created_at": _now(),
                "response": text,
                "done": True,
                "done_reason": _done_reason(run),
                **_durations(run, started),
            },
            headers=run.headers(),
        )

    async def lines() -> AsyncIterator[bytes]:
        try:
            async for text in run.chunks():
                yield ndjson(
                    {"model": run.model_id, "created_at": _now(), "response": text, "done": False}
                )
        except ApiError as exc:
            yield ndjson({"error": exc.message})
            return
        yield ndjson(
            {
                "model": run.model_id,
                "created_at": _now(),
                "response": "",
                "done": True,
                "done_reason": _done_reason(run),
                **_durations(run, started),
            }
        )

    await run.start()
    return ndjson_response(lines(), run.close, run.headers())


# -------------------------------------------------------------- embeddings
async def embed(request: Request) -> Response:
    body = await read_json(request)
    texts = embedding_inputs(body.get("input"))
    started = time.perf_counter()
    prepared = await prepare(request, body.get("model"))
    service = service_of(request)
    vectors = await service.embed(prepared.model, prepared.engine, texts)
    count = 0
    for text in texts:
        count += await service.count_tokens(prepared.engine, text)
    annotate(request.scope, tokens_in=count)
    return JSONResponse(
        {
            "model": prepared.model.id,
            "embeddings": vectors,
            "total_duration": int((time.perf_counter() - started) * 1e9),
            "load_duration": 0,
            "prompt_eval_count": count,
        }
    )


async def embeddings_legacy(request: Request) -> Response:
    body = await read_json(request)
    prompt = get(body, "prompt", str)
    if prompt is None:
        raise ApiError(400, "'prompt' is required.")
    prepared = await prepare(request, body.get("model"))
    vectors = await service_of(request).embed(prepared.model, prepared.engine, [prompt])
    return JSONResponse({"embedding": vectors[0]})


ROUTES = [
    Route("/", root, methods=["GET", "HEAD"]),
    Route("/api/version", version, methods=["GET"]),
    Route("/api/tags", tags, methods=["GET"]),
    Route("/api/ps", ps, methods=["GET"]),
    Route("/api/show", show, methods=["POST"]),
    Route("/api/chat", chat, methods=["POST"]),
    Route("/api/generate", generate, methods=["POST"]),
    Route("/api/embed", embed, methods=["POST"]),
    Route("/api/embeddings", embeddings_legacy, methods=["POST"]),
]
