"""Plain data exchanged between the engine client and its callers (chat UI, API server, CLI).

Everything here is JSON-friendly so it can cross the process boundary unchanged.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any, Literal


@dataclass
class SamplingParams:
    """Per-request sampling settings; defaults follow llama.cpp's."""

    temperature: float = 0.8
    top_p: float = 0.95
    top_k: int = 40
    min_p: float = 0.05
    repeat_penalty: float = 1.1
    repeat_last_n: int = 64
    # OpenAI's additive penalties (llama.cpp applies them in the same penalties sampler):
    # minus frequency_penalty × count, minus presence_penalty once, per token seen.
    frequency_penalty: float = 0.0
    presence_penalty: float = 0.0
    max_tokens: int = 512
    seed: int | None = None
    stop: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SamplingParams:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)


@dataclass
class LoadParams:
    """How a model is loaded; the planner fills these in, the user may override."""

    n_ctx: int = 4096
    n_gpu_layers: int = 0
    n_threads: int | None = None
    n_batch: int = 512
    use_mmap: bool = True
    use_mlock: bool = False
    # On = llama.cpp's "auto": used wherever the backend supports it (every CPU build), which
    # is llama-server's default too. Measured on 2 cores, 8 streams: ~10 % faster steps, and an
    # idle sequence's KV (not stored transposed) is parked >10x faster.
    flash_attn: bool = True
    type_k: str = "f16"
    type_v: str = "f16"
    swa_full: bool = True
    # Sequences decoded together (continuous batching); 0 = automatic (the planner chooses
    # from the KV memory each sequence needs; the engine falls back to 4).
    n_parallel: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LoadParams:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)


@dataclass
class GenerationRequest:
    """One generation: a fully rendered prompt (templates are applied before submission)."""

    prompt: str
    sampling: SamplingParams = field(default_factory=SamplingParams)
    add_bos: bool = True
    source: str = "chat"
    grammar: str | None = None  # GBNF constraining the output (JSON schema, tool calls)
    # Log-probabilities of each generated token and this many alternatives (None: off).
    logprobs: int | None = None


StopReason = Literal["eos", "stop_string", "max_tokens", "context_limit", "cancelled", "error"]


@dataclass
class GenerationStats:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    time_to_first_token_s: float = 0.0
    tokens_per_second: float = 0.0
    total_time_s: float = 0.0
    cached_prompt_tokens: int = 0  # prompt tokens reused from the KV cache, not re-read

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class TokenChunk:
    """Text produced since the previous chunk (tokens arrive in coalesced batches)."""

    request_id: str
    text: str
    n_tokens: int
    logprobs: list[TokenLogprob] | None = None  # one per token, when the request asked


@dataclass
class TopLogprob:
    token: str  # the token's bytes as text (a piece of a multi-byte character: U+FFFD)
    bytes: list[int]
    logprob: float


@dataclass
class TokenLogprob:
    """A generated token's natural-log probability under the model (before sampling's
    temperature and filters, as OpenAI reports it) and the most likely alternatives."""

    token: str
    bytes: list[int]
    logprob: float
    top: list[TopLogprob] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TokenLogprob:
        top = [TopLogprob(**t) for t in data.get("top", [])]
        return cls(data["token"], list(data["bytes"]), float(data["logprob"]), top)


@dataclass
class Finished:
    request_id: str
    stop_reason: StopReason
    stats: GenerationStats


@dataclass
class Failed:
    """The request could not complete: a bad prompt, or the engine process died."""

    request_id: str
    message: str
    engine_crashed: bool = False


Event = TokenChunk | Finished | Failed


class EngineState(StrEnum):
    EMPTY = "empty"
    LOADING = "loading"
    READY = "ready"
    ERROR = "error"


@dataclass
class ModelInfo:
    """What the engine reports once a model is loaded."""

    path: str
    architecture: str
    n_ctx: int
    n_ctx_train: int
    n_params: int
    n_layers: int
    n_gpu_layers: int
    bos_token: str
    eos_token: str
    chat_template: str | None
    load_time_s: float
    n_parallel: int = 1  # requests the engine decodes together; more wait in its queue
