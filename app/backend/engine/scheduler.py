"""Continuous batching: every active sequence advances in the same ``llama_decode``.

Each step holds one token for every generating sequence plus chunks of prompts being read
(chunked prefill), so a long new prompt slows the running streams a little instead of freezing
them. Requests beyond ``n_parallel`` wait in a FIFO queue. Sequences live in one unified KV
cache; a new request starts from the longest prefix some idle sequence already holds
(``prefix_cache.SlotTable``), so a chat's next turn or a shared system prompt is not re-read.

Threads: everything runs on the engine's main thread except ``cancel``, which the command
thread calls. A cancel marks the request; it is dropped at the next step boundary (a step is
one token per stream, i.e. milliseconds). When every sequence in the running step is
cancelled (Stop during a long single prompt read), llama.cpp's abort callback ends the step
at once.
"""

from __future__ import annotations

import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any, Protocol

from app.backend.engine.prefix_cache import SlotTable
from app.backend.engine.sequence import Phase, Sequence
from app.backend.engine.types import GenerationStats, SamplingParams, StopReason, TokenLogprob

FLUSH_INTERVAL_S = 0.025  # token text is sent in batches at most this often per stream
# Prompt tokens read per step while other sequences stream: ~60 ms of prefill on 2 cores
# with a 270M model, so streams keep flowing while a long prompt is read.
PREFILL_CHUNK_WHILE_STREAMING = 128
STALE_CANCEL_S = 30.0


class EventSink(Protocol):
    """Where a request's output goes (the worker sends it over the socket)."""

    def tokens(
        self,
        request_id: str,
        text: str,
        n_tokens: int,
        logprobs: list[TokenLogprob] | None = None,
    ) -> None: ...

    def done(self, request_id: str, reason: StopReason, stats: GenerationStats) -> None: ...

    def error(self, request_id: str, message: str) -> None: ...


class Runtime(Protocol):
    """What the scheduler needs from ``LlamaRuntime`` (a fake stands in for it in tests)."""

    n_ctx: int
    n_ctx_total: int
    n_batch: int
    n_parallel: int
    n_seq_max: int
    swa_window: int

    def prompt_tokens(self, prompt: str, add_bos: bool) -> list[int]: ...
    def piece(self, token: int) -> bytes: ...
    def build_sampler(self, sampling: SamplingParams, grammar: str | None) -> Any: ...
    def free_sampler(self, sampler: Any) -> None: ...
    def decode(self, batch: Any) -> int: ...
    def sample(self, sampler: Any, index: int) -> int: ...
    def is_eog(self, token: int) -> bool: ...
    def logprob(self, index: int, token: int, top: int) -> TokenLogprob: ...
    def seq_rm(self, seq_id: int, p0: int, p1: int = -1) -> bool: ...
    def seq_cp(self, src: int, dst: int, p0: int, p1: int) -> None: ...
    def seq_pos_min(self, seq_id: int) -> int: ...
    def state_get(self, seq_id: int) -> bytes: ...
    def state_set(self, seq_id: int, state: bytes) -> bool: ...
    def request_abort(self) -> None: ...
    def clear_abort(self) -> None: ...


class RequestError(Exception):
    """A request cannot run (prompt too long, bad grammar); the others are unaffected."""


class Scheduler:
    """Admits, batches, samples and finishes requests; one ``step()`` is one decode."""

    def __init__(
        self,
        runtime: Runtime,
        sink: EventSink,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.runtime = runtime
        self.sink = sink
        self.clock = clock
        self.waiting: deque[Sequence] = deque()
        self.active: list[Sequence] = []
        self.slots = SlotTable(runtime.n_seq_max)
        from app.backend.engine.batch import TokenBatch  # llama_cpp: engine process only

        self.batch = TokenBatch(max(runtime.n_batch, runtime.n_parallel))
        self._lock = threading.Lock()
        self._cancelled: dict[str, float] = {}  # request id -> when the cancel arrived
        self._step_ids: set[str] = set()
        # Counters for the batching benchmark (logged when the engine goes idle).
        self.steps = 0
        self.step_sequences = 0
        self.step_tokens = 0

    # ---------------------------------------------------------------- requests
    def submit(
        self,
        request_id: str,
        prompt: str,
        sampling: SamplingParams,
        add_bos: bool = True,
        grammar: str | None = None,
        logprobs: int | None = None,
    ) -> None:
        """Queue a request; raises ``RequestError`` if it can never run."""
        tokens = self.runtime.prompt_tokens(prompt, add_bos)
        if len(tokens) >= self.runtime.n_ctx:
            raise RequestError(
                f"The prompt is {len(tokens)} tokens long but the context holds "
                f"{self.runtime.n_ctx}; shorten the conversation or load the model with a "
                "larger context."
            )
        seq = Sequence(request_id, tokens, sampling, grammar, arrived=self.clock())
        seq.logprobs = logprobs
        seq.sampler = self.runtime.build_sampler(sampling, grammar)
        self.waiting.append(seq)

    def cancel(self, request_id: str) -> None:
        """Any thread. The request ends at the next step boundary (or now, if it alone is
        being decoded, through llama.cpp's abort callback)."""
        with self._lock:
            self._cancelled.setdefault(request_id, time.monotonic())
            if self._step_ids and self._step_ids <= self._cancelled.keys():
                self.runtime.request_abort()

    def has_work(self) -> bool:
        return bool(self.active or self.waiting)

    def close(self) -> None:
        for seq in [*self.active, *self.waiting]:
            self.runtime.free_sampler(seq.sampler)
        self.active.clear()
        self.waiting.clear()

    # -------------------------------------------------------------------- step
    def step(self) -> None:
        """Drop cancelled requests, admit waiting ones, decode one batch, sample."""
        self._reap_cancelled()
        self._admit()
        if not self.active:
            return
        in_step = self._fill_batch()
        if not in_step:
            return
        self._make_room(self.batch.n_tokens)
        if not self._decode(in_step):
            return
        self.steps += 1
        self.step_sequences += len(in_step)
        self.step_tokens += self.batch.n_tokens
        now = self.clock()
        slots = self.slots.slots
        for seq in in_step:
            if seq.phase is Phase.GENERATE:
                slots[seq.seq_id].tokens.append(seq.next_token)
                seq.n_past += 1
            else:
                end = seq.n_past + seq.step_fed
                slots[seq.seq_id].tokens.extend(seq.tokens[seq.n_past : end])
                seq.n_past = end
                if end == len(seq.tokens):
                    seq.phase = Phase.GENERATE
            if seq.logits_index >= 0:
                self._sample(seq, now)
        for seq in self.active:
            if (seq.pending_tokens or seq.pending_text) and now - seq.last_flush >= (
                FLUSH_INTERVAL_S
            ):
                self._flush(seq, now)
        if self.active:
            self._park_one_idle()

    def _fill_batch(self) -> list[Sequence]:
        batch = self.batch
        batch.clear()
        in_step: list[Sequence] = []
        for seq in self.active:
            if seq.phase is Phase.GENERATE:
                seq.step_start = seq.n_past
                seq.logits_index = batch.add(seq.next_token, seq.n_past, seq.seq_id, True)
                in_step.append(seq)
        budget = batch.free
        if in_step:
            budget = min(budget, PREFILL_CHUNK_WHILE_STREAMING)
        for seq in self.active:
            if budget <= 0:
                break
            if seq.phase is not Phase.PREFILL:
                continue
            take = min(budget, seq.prompt_left)
            last = take == seq.prompt_left
            seq.step_start = seq.n_past
            seq.step_fed = take
            index = batch.add_run(
                seq.tokens[seq.n_past : seq.n_past + take], seq.n_past, seq.seq_id, last
            )
            seq.logits_index = index if last else -1
            budget -= take
            in_step.append(seq)
        return in_step

    def _decode(self, in_step: list[Sequence]) -> bool:
        """Run the step; on failure roll the step's positions back and deal with the cause."""
        with self._lock:
            self._step_ids = {seq.request_id for seq in in_step}
            self.runtime.clear_abort()
            if self._step_ids <= self._cancelled.keys():
                self._step_ids = set()
                return False  # all reaped at the next step
        code = self.runtime.decode(self.batch.view())
        with self._lock:
            self._step_ids = set()
        if code == 0:
            return True
        for seq in in_step:
            self.runtime.seq_rm(seq.seq_id, seq.step_start, -1)
        if code == 2:
            return False  # aborted: the cancelled sequences are reaped next step
        if code == 1:  # no free KV cells: drop a cached sequence, or end the longest one
            if not self._evict_one():
                longest = max(in_step, key=lambda s: s.n_past)
                self._finish(longest, "context_limit")
            return False
        for seq in in_step:
            self._fail(seq, f"llama_decode failed with code {code}")
        return False

    def _sample(self, seq: Sequence, now: float) -> None:
        if seq.sampling.max_tokens <= 0:
            self._finish(seq, "max_tokens")
            return
        token = self.runtime.sample(seq.sampler, seq.logits_index)
        if seq.generated == 0:
            seq.first_token_at = now
        if self.runtime.is_eog(token):
            self._finish(seq, "eos")
            return
        if seq.logprobs is not None:  # read before the next decode overwrites the row
            seq.pending_logprobs.append(self.runtime.logprob(seq.logits_index, token, seq.logprobs))
        seq.accept_piece(self.runtime.piece(token))
        if seq.matcher.stopped:
            self._finish(seq, "stop_string")
        elif seq.generated >= seq.sampling.max_tokens:
            self._finish(seq, "max_tokens")
        elif seq.n_past + 1 >= self.runtime.n_ctx:
            self._finish(seq, "context_limit")
        else:
            seq.next_token = token

    # --------------------------------------------------------------- admission
    def _admit(self) -> None:
        while self.waiting and len(self.active) < self.runtime.n_parallel:
            seq = self.waiting[0]
            placement = self.slots.place(seq.tokens)
            if placement is None:
                return
            self.waiting.popleft()
            runtime = self.runtime
            reused = placement.reused
            if placement.restore is not None:
                runtime.seq_rm(placement.seq_id, -1, -1)
                if not runtime.state_set(placement.seq_id, placement.restore):
                    reused = 0
                runtime.seq_rm(placement.seq_id, reused, -1)
            elif placement.copy_from is not None:
                runtime.seq_rm(placement.seq_id, -1, -1)
                runtime.seq_cp(placement.copy_from, placement.seq_id, 0, reused)
            elif not runtime.seq_rm(placement.seq_id, reused, -1):
                reused = 0
            window = runtime.swa_window
            if (
                reused
                and window
                and runtime.seq_pos_min(placement.seq_id) > max(0, reused - window)
            ):
                # A compact window cache (or a parked state, which keeps only the window of
                # the window layers) lacks what the next token attends to: read it all again.
                reused = 0
            if reused == 0:
                runtime.seq_rm(placement.seq_id, -1, -1)
                self.slots.slots[placement.seq_id].tokens = []
            seq.seq_id = placement.seq_id
            seq.n_past = seq.reused = reused
            seq.phase = Phase.PREFILL
            self.active.append(seq)

    def _park_one_idle(self) -> None:
        """Move one idle sequence's KV to RAM so active streams stop attending over its cells.

        One per step, after the step's tokens went out: without flash attention, saving a
        sequence whose cells are interleaved with others' costs ~0.2 ms per token (V is stored
        transposed), so parking them all at once would delay the next request's first token
        (measured: +350 ms after an 8-client burst). With flash attention (the default) V is
        not transposed and parking costs >10x less (measured per 8-stream step: 0.005-0.3
        ms against 4-5 ms).
        """
        idle = self.slots.idle_resident()
        if idle:
            slot = min(idle, key=lambda s: s.last_used)
            self.slots.park(slot.seq_id, self.runtime.state_get(slot.seq_id))
            self.runtime.seq_rm(slot.seq_id, -1, -1)

    def _make_room(self, n_new: int) -> None:
        """Evict least recently used cached sequences until the step's tokens fit."""
        while self.slots.used_tokens() + n_new > self.runtime.n_ctx_total:
            if not self._evict_one():
                return

    def _evict_one(self) -> bool:
        victims = self.slots.evictable()
        if not victims:
            return False
        self.runtime.seq_rm(victims[0].seq_id, -1, -1)
        self.slots.forget(victims[0].seq_id)
        return True

    # -------------------------------------------------------------- finishing
    def _reap_cancelled(self) -> None:
        with self._lock:
            if not self._cancelled:
                return
            cancelled = dict(self._cancelled)
        for seq in [s for s in self.waiting if s.request_id in cancelled]:
            self.waiting.remove(seq)
            self._finish(seq, "cancelled")
        for seq in [s for s in self.active if s.request_id in cancelled]:
            self._finish(seq, "cancelled")
        # Cancels of requests that already finished (or never came) are forgotten after a while.
        stale = time.monotonic() - STALE_CANCEL_S
        with self._lock:
            for request_id, when in cancelled.items():
                if when < stale:
                    self._cancelled.pop(request_id, None)

    def _flush(self, seq: Sequence, now: float) -> None:
        text, n, logprobs = seq.take_pending()
        if text or n:
            self.sink.tokens(seq.request_id, text, n, logprobs)
        seq.last_flush = now

    def _finish(self, seq: Sequence, reason: StopReason) -> None:
        now = self.clock()
        seq.finish_text()
        self._flush(seq, now)
        self._release(seq)
        if not self.has_work() and self.steps:
            self._log_counters()  # before the last "done", so a reader finds it
        self.sink.done(seq.request_id, reason, seq.stats(now))

    def _fail(self, seq: Sequence, message: str) -> None:
        self._flush(seq, self.clock())
        self._release(seq)
        self.sink.error(seq.request_id, message)

    def _release(self, seq: Sequence) -> None:
        if seq in self.active:
            self.active.remove(seq)
            self.slots.release(seq.seq_id)
        seq.phase = Phase.FINISHED
        self.runtime.free_sampler(seq.sampler)
        seq.sampler = None
        with self._lock:
            self._cancelled.pop(seq.request_id, None)

    def _log_counters(self) -> None:
        """One line in the engine log per busy period (the batching benchmark reads it)."""
        print(
            f"hearth-scheduler: steps={self.steps} sequences={self.step_sequences} "
            f"tokens={self.step_tokens} mean_sequences_per_step="
            f"{self.step_sequences / self.steps:.2f}",
            file=sys.stderr,
            flush=True,
        )
