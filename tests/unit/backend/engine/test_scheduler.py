"""The batching scheduler against a fake llama.cpp that checks KV bookkeeping.

The fake keeps each sequence's KV contents as a token list, asserts that every decoded token
lands at the next position of its sequence, and "generates" a token computed from the whole
sequence. So if prefix reuse, copies or rollbacks ever left the wrong cache behind, outputs
would differ from a request run alone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from app.backend.engine import scheduler as scheduler_module
from app.backend.engine.prefix_cache import SlotTable, common_prefix
from app.backend.engine.scheduler import RequestError, Scheduler
from app.backend.engine.types import GenerationStats, SamplingParams, StopReason

pytest.importorskip("llama_cpp")

EOS = 0


@dataclass
class Step:
    seqs: list[int]
    n_tokens: int
    n_logits: int


@dataclass
class FakeRuntime:
    n_parallel: int = 2
    n_ctx: int = 128
    n_batch: int = 64
    n_seq_max: int = 6
    swa_window: int = 0
    n_ctx_total: int = 0
    kv: dict[int, list[int]] = field(default_factory=dict)
    steps: list[Step] = field(default_factory=list)
    decoded_per_seq: dict[int, int] = field(default_factory=dict)
    eos_when: Callable[[list[int]], bool] = lambda kv: False
    on_decode: Callable[[], None] | None = None
    aborted: bool = False
    fail_next: int = 0
    pos_min: int | None = None
    parked_count: int = 0
    restored_count: int = 0
    _rows: dict[int, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.n_ctx_total = self.n_ctx_total or self.n_ctx * self.n_parallel
        self.kv = {i: [] for i in range(self.n_seq_max)}

    def prompt_tokens(self, prompt: str, add_bos: bool) -> list[int]:
        return [1] + [ord(c) for c in prompt]

    def piece(self, token: int) -> bytes:
        return chr(token).encode()

    def build_sampler(self, sampling: SamplingParams, grammar: str | None) -> object:
        if grammar == "bad":
            raise RequestError("The output grammar is not valid GBNF.")
        return object()

    def free_sampler(self, sampler: Any) -> None:
        pass

    def decode(self, batch: Any) -> int:
        if self.on_decode is not None:
            self.on_decode()
        if self.aborted:
            return 2
        if self.fail_next:
            self.fail_next -= 1
            return 1
        seqs: list[int] = []
        n_logits = 0
        for i in range(batch.n_tokens):
            seq = batch.seq_id[i][0]
            assert batch.pos[i] == len(self.kv[seq]), "token decoded at the wrong position"
            self.kv[seq].append(batch.token[i])
            self.decoded_per_seq[seq] = self.decoded_per_seq.get(seq, 0) + 1
            if seq not in seqs:
                seqs.append(seq)
            if batch.logits[i]:
                n_logits += 1
                self._rows[i] = seq
        used = sum(len(v) for v in self.kv.values())
        assert used <= self.n_ctx_total, "more cells used than the cache holds"
        self.steps.append(Step(seqs, batch.n_tokens, n_logits))
        return 0

    def sample(self, sampler: Any, index: int) -> int:
        kv = self.kv[self._rows[index]]
        if self.eos_when(kv):
            return EOS
        return 97 + (sum(t * (i + 1) for i, t in enumerate(kv)) % 26)

    def is_eog(self, token: int) -> bool:
        return token == EOS

    def seq_rm(self, seq_id: int, p0: int, p1: int = -1) -> bool:
        if p0 < 0:
            self.kv[seq_id] = []
        else:
            del self.kv[seq_id][p0:]
        return True

    def seq_cp(self, src: int, dst: int, p0: int, p1: int) -> None:
        assert not self.kv[dst]
        self.kv[dst] = self.kv[src][p0:p1]

    def seq_pos_min(self, seq_id: int) -> int:
        if self.pos_min is not None:
            return self.pos_min
        return 0 if self.kv[seq_id] else -1

    def state_get(self, seq_id: int) -> bytes:
        self.parked_count += 1
        return ",".join(map(str, self.kv[seq_id])).encode()

    def state_set(self, seq_id: int, state: bytes) -> bool:
        self.kv[seq_id] = [int(x) for x in state.decode().split(",") if x]
        self.restored_count += 1
        return True

    def request_abort(self) -> None:
        self.aborted = True

    def clear_abort(self) -> None:
        self.aborted = False


@dataclass
class Sink:
    text: dict[str, str] = field(default_factory=dict)
    n_tokens: dict[str, int] = field(default_factory=dict)
    done_events: dict[str, tuple[StopReason, GenerationStats]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    def tokens(self, request_id: str, text: str, n_tokens: int, logprobs: object = None) -> None:
        self.text[request_id] = self.text.get(request_id, "") + text
        self.n_tokens[request_id] = self.n_tokens.get(request_id, 0) + n_tokens

    def done(self, request_id: str, reason: StopReason, stats: GenerationStats) -> None:
        self.done_events[request_id] = (reason, stats)

    def error(self, request_id: str, message: str) -> None:
        self.errors[request_id] = message


def make(**kw: Any) -> tuple[Scheduler, FakeRuntime, Sink]:
    runtime = FakeRuntime(**kw)
    sink = Sink()
    return Scheduler(runtime, sink), runtime, sink


def greedy(n: int, **extra: Any) -> SamplingParams:
    return SamplingParams(temperature=0.0, max_tokens=n, **extra)


def run(scheduler: Scheduler, limit: int = 10_000) -> None:
    for _ in range(limit):
        if not scheduler.has_work():
            return
        scheduler.step()
    raise AssertionError("the scheduler did not finish")


def alone(prompt: str, n: int, **kw: Any) -> str:
    scheduler, _, sink = make(**kw)
    scheduler.submit("solo", prompt, greedy(n))
    run(scheduler)
    return sink.text["solo"]


# ------------------------------------------------------------------------ batching
def test_streams_share_each_decode_and_match_their_solo_runs() -> None:
    prompts = {f"r{i}": f"prompt number {i}" for i in range(4)}
    scheduler, runtime, sink = make(n_parallel=4)
    for rid, prompt in prompts.items():
        scheduler.submit(rid, prompt, greedy(20))
    run(scheduler)
    for rid, prompt in prompts.items():
        assert sink.done_events[rid][0] == "max_tokens"
        assert sink.n_tokens[rid] == 20
        assert sink.text[rid] == alone(prompt, 20, n_parallel=4)
    generate_steps = [s for s in runtime.steps if s.n_tokens == 4]
    assert len(generate_steps) >= 19  # one token for each of the four streams per step
    assert scheduler.step_sequences / scheduler.steps > 3


def test_requests_beyond_n_parallel_wait_in_order() -> None:
    scheduler, runtime, sink = make(n_parallel=2)
    for i in range(5):
        scheduler.submit(f"r{i}", f"p{i}", greedy(5))
    run(scheduler)
    assert all(len(step.seqs) <= 2 for step in runtime.steps)
    assert sorted(sink.done_events) == [f"r{i}" for i in range(5)]
    assert all(reason == "max_tokens" for reason, _ in sink.done_events.values())


def test_a_long_prompt_is_read_in_chunks_while_others_keep_streaming() -> None:
    scheduler, runtime, sink = make(n_parallel=2, n_ctx=1024, n_batch=512)
    scheduler.submit("stream", "hi", greedy(40))
    for _ in range(3):
        scheduler.step()
    before = len(runtime.steps)
    scheduler.submit("long", "x" * 600, greedy(3))
    run(scheduler)
    while_reading = runtime.steps[before : before + 5]
    for step in while_reading:  # the stream advanced in every step of the prompt read
        assert len(step.seqs) == 2
        assert step.n_tokens <= 1 + scheduler_module.PREFILL_CHUNK_WHILE_STREAMING
    assert sink.n_tokens["stream"] == 40
    assert sink.text["long"] == alone("x" * 600, 3, n_parallel=2, n_ctx=1024, n_batch=512)


def test_alone_a_prompt_is_read_in_full_batches() -> None:
    scheduler, runtime, _ = make(n_parallel=2, n_ctx=1024, n_batch=256)
    scheduler.submit("long", "x" * 600, greedy(1))
    run(scheduler)
    assert [s.n_tokens for s in runtime.steps[:3]] == [256, 256, 89]


def test_each_sequence_has_its_own_stop_strings_and_limits() -> None:
    scheduler, _, sink = make(n_parallel=3)
    reference = alone("abc", 30, n_parallel=3)
    stop = reference[5:7]
    scheduler.submit("cut", "abc", greedy(30, stop=[stop]))
    scheduler.submit("short", "abc", greedy(3))
    scheduler.submit("full", "abc", greedy(30))
    run(scheduler)
    assert sink.done_events["cut"][0] == "stop_string"
    assert sink.text["cut"] == reference[: reference.index(stop)]
    assert sink.text["short"] == reference[:3]
    assert sink.text["full"] == reference


def test_end_of_generation_and_context_limit_end_one_sequence_only() -> None:
    scheduler, runtime, sink = make(n_parallel=2, n_ctx=40)
    runtime.eos_when = lambda kv: len(kv) >= 12 and kv[1] == ord("e")
    scheduler.submit("eos", "eos", greedy(100))
    scheduler.submit("long", "long", greedy(100))
    run(scheduler)
    assert sink.done_events["eos"][0] == "eos"
    assert sink.done_events["long"][0] == "context_limit"
    assert sink.done_events["long"][1].completion_tokens == 40 - 5


# --------------------------------------------------------------------- cancelling
def test_cancel_ends_one_stream_without_disturbing_the_others() -> None:
    scheduler, _, sink = make(n_parallel=3)
    for rid in ("a", "b", "c"):
        scheduler.submit(rid, f"prompt {rid}", greedy(30))
    for _ in range(10):
        scheduler.step()
    scheduler.cancel("b")
    run(scheduler)
    assert sink.done_events["b"][0] == "cancelled"
    assert sink.done_events["b"][1].completion_tokens < 30
    for rid in ("a", "c"):
        assert sink.text[rid] == alone(f"prompt {rid}", 30, n_parallel=3)


def test_cancel_of_a_waiting_request_never_decodes_it() -> None:
    scheduler, runtime, sink = make(n_parallel=1)
    scheduler.submit("running", "one", greedy(10))
    scheduler.submit("queued", "two", greedy(10))
    scheduler.step()
    scheduler.cancel("queued")
    run(scheduler)
    assert sink.done_events["queued"][0] == "cancelled"
    assert sink.done_events["queued"][1].completion_tokens == 0
    assert all(len(step.seqs) == 1 for step in runtime.steps)
    assert sink.done_events["running"][0] == "max_tokens"


def test_cancel_during_a_step_of_only_that_request_aborts_the_decode() -> None:
    scheduler, runtime, sink = make(n_parallel=2, n_ctx=1024, n_batch=64)
    scheduler.submit("long", "x" * 500, greedy(5))
    runtime.on_decode = lambda: scheduler.cancel("long")
    scheduler.step()
    assert runtime.aborted  # llama.cpp's abort callback would have fired
    runtime.on_decode = None
    run(scheduler)
    assert sink.done_events["long"][0] == "cancelled"
    assert runtime.kv[0] == []  # the aborted step's positions were rolled back


def test_cancel_during_a_shared_step_does_not_abort_it() -> None:
    scheduler, runtime, sink = make(n_parallel=2)
    scheduler.submit("a", "aa", greedy(10))
    scheduler.submit("b", "bb", greedy(10))
    scheduler.step()
    runtime.on_decode = lambda: scheduler.cancel("a")
    scheduler.step()
    assert not runtime.aborted
    runtime.on_decode = None
    run(scheduler)
    assert sink.done_events["a"][0] == "cancelled"
    assert sink.text["b"] == alone("bb", 10, n_parallel=2)


# ---------------------------------------------------------------- prefix reuse
def test_a_follow_up_turn_reads_only_the_new_tokens() -> None:
    scheduler, runtime, sink = make(n_parallel=2, n_ctx=512)
    first = "System: be brief. User: hello. Assistant:"
    scheduler.submit("t1", first, greedy(10))
    run(scheduler)
    follow_up = first + sink.text["t1"] + " User: more please. Assistant:"
    decoded_before = sum(runtime.decoded_per_seq.values())
    scheduler.submit("t2", follow_up, greedy(10))
    run(scheduler)
    read = sum(runtime.decoded_per_seq.values()) - decoded_before
    new_tokens = len(" User: more please. Assistant:")
    assert read <= new_tokens + 10
    assert sink.done_events["t2"][1].cached_prompt_tokens >= len(first)
    assert sink.text["t2"] == alone(follow_up, 10, n_parallel=2, n_ctx=512)


def test_regenerate_reuses_the_history_but_not_the_old_reply() -> None:
    scheduler, _, sink = make(n_parallel=1, n_ctx=512)
    scheduler.submit("a", "history text", greedy(8))
    run(scheduler)
    scheduler.submit("b", "history text", greedy(8))
    run(scheduler)
    assert sink.text["b"] == sink.text["a"]
    assert sink.done_events["b"][1].cached_prompt_tokens == len("history text")


def test_clients_sharing_a_system_prompt_keep_both_conversations_cached() -> None:
    scheduler, _, sink = make(n_parallel=1, n_ctx=512)
    system = "You are a helpful assistant with a long system prompt. "
    scheduler.submit("a1", system + "Client A asks.", greedy(5))
    run(scheduler)
    scheduler.submit("b1", system + "Client B asks.", greedy(5))
    run(scheduler)
    assert sink.done_events["b1"][1].cached_prompt_tokens == 1 + len(system) + len("Client ")
    # A's conversation survived B's request: its next turn is read from the cache too.
    follow = system + "Client A asks." + sink.text["a1"] + " And then?"
    scheduler.submit("a2", follow, greedy(5))
    run(scheduler)
    assert sink.done_events["a2"][1].cached_prompt_tokens >= len(system + "Client A asks.")
    assert sink.text["a2"] == alone(follow, 5, n_parallel=1, n_ctx=512)


def test_cached_sequences_are_evicted_when_the_cache_is_full() -> None:
    scheduler, _, sink = make(n_parallel=2, n_ctx=64, n_seq_max=8)
    for i in range(12):
        scheduler.submit(f"r{i}", chr(65 + i) * 30, greedy(10))
    run(scheduler)
    assert len(sink.done_events) == 12 and not sink.errors
    assert all(reason == "max_tokens" for reason, _ in sink.done_events.values())


def test_a_full_cache_with_nothing_to_evict_ends_the_longest_sequence() -> None:
    scheduler, runtime, sink = make(n_parallel=2)
    scheduler.submit("long", "a much longer prompt", greedy(5))
    scheduler.submit("short", "short", greedy(5))
    runtime.fail_next = 1
    run(scheduler)
    assert sink.done_events["long"][0] == "context_limit"
    assert sink.text["short"] == alone("short", 5, n_parallel=2)


def test_idle_sequences_are_parked_in_ram_while_others_decode_and_restored() -> None:
    scheduler, runtime, sink = make(n_parallel=2, n_ctx=512)
    scheduler.submit("chat", "a chat so far", greedy(6))
    run(scheduler)
    scheduler.submit("api", "an api call", greedy(20))
    scheduler.step()
    assert runtime.parked_count == 1  # the chat's cells were freed for the api stream
    assert runtime.kv[0] == [] or runtime.kv[1] == []
    follow = "a chat so far" + sink.text["chat"] + " next"
    scheduler.submit("chat2", follow, greedy(6))
    run(scheduler)
    assert runtime.restored_count == 1
    assert sink.done_events["chat2"][1].cached_prompt_tokens >= len("a chat so far")
    assert sink.text["chat2"] == alone(follow, 6, n_parallel=2, n_ctx=512)


def test_a_swa_window_cache_missing_history_forces_a_full_read() -> None:
    scheduler, runtime, sink = make(n_parallel=1, n_ctx=512, swa_window=8)
    scheduler.submit("a", "a fairly long history of tokens", greedy(4))
    run(scheduler)
    runtime.pos_min = 20  # the window cache dropped positions below 20
    scheduler.submit("b", "a fairly long history", greedy(4))  # edit behind the window
    run(scheduler)
    assert sink.done_events["b"][1].cached_prompt_tokens == 0
    assert sink.text["b"] == alone("a fairly long history", 4, n_parallel=1, n_ctx=512)


# --------------------------------------------------------------------- refusing
def test_prompt_longer_than_the_context_is_refused() -> None:
    scheduler, _, _ = make(n_ctx=32)
    with pytest.raises(RequestError, match="context holds 32"):
        scheduler.submit("r", "x" * 40, greedy(3))


def test_max_tokens_zero_reads_the_prompt_and_stops() -> None:
    scheduler, _, sink = make()
    scheduler.submit("r", "abc", greedy(0))
    run(scheduler)
    assert sink.done_events["r"][0] == "max_tokens"
    assert sink.done_events["r"][1].completion_tokens == 0


# -------------------------------------------------------------------- slot table
@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [([], [], 0), ([1, 2, 3], [1, 2, 3], 3), ([1, 2, 3], [1, 2], 2), ([1, 2, 4], [1, 2, 3], 2)],
)
def test_common_prefix(a: list[int], b: list[int], expected: int) -> None:
    assert common_prefix(a, b) == expected


def test_slot_table_prefers_the_longest_prefix_and_copies_to_keep_a_tail() -> None:
    table = SlotTable(3)
    first = table.place([1, 2, 3, 4])
    assert first is not None and first.reused == 0
    table.slots[first.seq_id].tokens = [1, 2, 3, 4]
    table.release(first.seq_id)
    follow = table.place([1, 2, 3, 4, 5])
    assert follow is not None and follow.seq_id == first.seq_id and follow.reused == 4
    table.slots[follow.seq_id].tokens = [1, 2, 3, 4, 5]
    table.release(follow.seq_id)
    branch = table.place([1, 2, 9])
    assert branch is not None
    assert branch.copy_from == first.seq_id and branch.seq_id != first.seq_id
    assert branch.reused == 2
    assert table.slots[first.seq_id].tokens == [1, 2, 3, 4, 5]


def test_slot_table_leaves_one_token_to_decode() -> None:
    table = SlotTable(1)
    table.slots[0].tokens = [1, 2, 3]
    placement = table.place([1, 2, 3])
    assert placement is not None and placement.reused == 2
    assert table.place([7]) is None  # the only sequence is busy
