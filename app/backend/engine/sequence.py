"""One request's life inside the scheduler: prompt read, token stream, stop, stats.

Each sequence owns its sampler chain (seed, penalties history, grammar), its stop-string
matcher and UTF-8 decoder, so sequences batched together never influence each other.
"""

from __future__ import annotations

import codecs
import time
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from app.backend.engine.stopping import StopStringMatcher
from app.backend.engine.types import GenerationStats, SamplingParams, StopReason, TokenLogprob


class Phase(Enum):
    WAITING = "waiting"  # queued: all parallel slots are busy
    PREFILL = "prefill"  # reading the prompt in chunks
    GENERATE = "generate"  # one token per step
    FINISHED = "finished"


@dataclass
class Sequence:
    request_id: str
    tokens: list[int]
    sampling: SamplingParams
    grammar: str | None = None
    phase: Phase = Phase.WAITING
    seq_id: int = -1
    n_past: int = 0  # positions already in the KV cache
    reused: int = 0  # of which came from the prefix cache
    sampler: Any = None
    next_token: int = -1  # sampled, to be decoded in the next step
    logits_index: int = -1  # batch row holding this sequence's logits in the current step
    step_start: int = 0  # n_past when the current step began (to roll back a failed one)
    step_fed: int = 0  # prompt tokens this step reads
    generated: int = 0
    arrived: float = field(default_factory=time.perf_counter)
    first_token_at: float = 0.0
    stop_reason: StopReason | None = None
    matcher: StopStringMatcher = field(init=False)
    pending_text: list[str] = field(default_factory=list)
    pending_tokens: int = 0
    logprobs: int | None = None  # alternatives per token to report; None: no log-probs
    pending_logprobs: list[TokenLogprob] = field(default_factory=list)
    last_flush: float = 0.0

    def __post_init__(self) -> None:
        self.matcher = StopStringMatcher(self.sampling.stop)
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")

    @property
    def prompt_left(self) -> int:
        return len(self.tokens) - self.n_past

    def accept_piece(self, piece: bytes) -> None:
        """Account one generated token and its bytes (held back while a stop string may form)."""
        self.generated += 1
        self.pending_tokens += 1
        text = self.matcher.feed(self._decoder.decode(piece))
        if text:
            self.pending_text.append(text)

    def finish_text(self) -> None:
        """Release what the decoder and the stop matcher still hold."""
        tail = self.matcher.feed(self._decoder.decode(b"", final=True)) + self.matcher.flush()
        if tail:
            self.pending_text.append(tail)

    def take_pending(self) -> tuple[str, int, list[TokenLogprob] | None]:
        text, n = "".join(self.pending_text), self.pending_tokens
        self.pending_text.clear()
        self.pending_tokens = 0
        logprobs = None
        if self.logprobs is not None:
            logprobs, self.pending_logprobs = self.pending_logprobs, []
        return text, n, logprobs

    def stats(self, now: float) -> GenerationStats:
        stats = GenerationStats(
            prompt_tokens=len(self.tokens),
            completion_tokens=self.generated,
            total_time_s=now - self.arrived,
            cached_prompt_tokens=self.reused,
        )
        if self.generated:
            stats.time_to_first_token_s = self.first_token_at - self.arrived
            decode_time = now - self.first_token_at
            stats.tokens_per_second = self.generated / decode_time if decode_time > 0 else 0.0
        return stats
