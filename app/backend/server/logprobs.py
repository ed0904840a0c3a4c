"""Token log-probabilities in OpenAI's two shapes (chat ``logprobs.content``, legacy
completions ``tokens``/``token_logprobs``/``top_logprobs``/``text_offset``).

The engine reports, per generated token, its log-probability under the model's raw
distribution and the likeliest alternatives; these helpers read the request's options and
shape the answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from app.backend.engine.types import TokenLogprob
from app.backend.server.common import get
from app.backend.server.errors import ApiError

MAX_TOP = 20  # OpenAI's limit for top_logprobs


def chat_option(body: dict[str, Any]) -> int | None:
    """Alternatives per token for a chat request (``logprobs`` + ``top_logprobs``); None: off."""
    wanted = bool(get(body, "logprobs", bool, False))
    top = get(body, "top_logprobs", int, None)
    if top is not None and not 0 <= top <= MAX_TOP:
        raise ApiError(400, f"'top_logprobs' must be between 0 and {MAX_TOP}.")
    if top is not None and not wanted:
        raise ApiError(400, "'top_logprobs' needs 'logprobs': true.")
    return (top or 0) if wanted else None


def completion_option(body: dict[str, Any]) -> int | None:
    """Alternatives per token for a legacy completion (``logprobs``: an integer); None: off."""
    top = get(body, "logprobs", int, None)
    if top is None:
        return None
    if not 0 <= top <= MAX_TOP:
        raise ApiError(400, f"'logprobs' must be between 0 and {MAX_TOP}.")
    if get(body, "echo", bool, False):
        raise ApiError(
            400, "'echo' with 'logprobs' (log-probabilities of the prompt) is not supported."
        )
    return top


def chat_shape(entries: Sequence[TokenLogprob]) -> dict[str, Any]:
    return {
        "content": [
            {
                "token": e.token,
                "logprob": e.logprob,
                "bytes": e.bytes,
                "top_logprobs": [
                    {"token": t.token, "logprob": t.logprob, "bytes": t.bytes} for t in e.top
                ],
            }
            for e in entries
        ],
        "refusal": None,
    }


def completion_shape(entries: Sequence[TokenLogprob], offset: int) -> dict[str, Any]:
    """The legacy shape; ``offset`` is where the first token starts in the choice's text."""
    offsets = []
    for e in entries:
        offsets.append(offset)
        offset += len(e.token)
    return {
        "tokens": [e.token for e in entries],
        "token_logprobs": [e.logprob for e in entries],
        "top_logprobs": [{t.token: t.logprob for t in e.top} for e in entries],
        "text_offset": offsets,
    }
