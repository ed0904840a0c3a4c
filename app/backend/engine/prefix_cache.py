"""Which KV-cache sequence a new request runs in, so that what the cache holds is reused.

The context has more sequence ids than parallel slots: a finished request leaves its tokens in
its sequence (idle), and a later request that starts the same way (the next turn of that chat,
or another client with the same long system prompt) continues from there instead of re-reading
it. While other sequences decode, idle ones are *parked*: their KV state is copied to host RAM
(``llama_state_seq_get_data``) and their cells freed, because in a unified cache every decoded
token attends over all occupied cells (masked), so idle cells slow the active streams (measured:
~20 % for one stream after an 8-client burst). A parked state is restored into a free sequence
when a request matches it. This module is pure bookkeeping; the scheduler applies its decisions
to llama.cpp. Nothing here touches llama.cpp, so it is unit-tested on its own.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field


def common_prefix(a: list[int], b: list[int]) -> int:
    """Length of the longest common prefix (binary search over C-speed slice compares)."""
    hi = min(len(a), len(b))
    if a[:hi] == b[:hi]:
        return hi
    lo = 0  # a[:lo] == b[:lo] holds; a[:hi] != b[:hi]
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if a[:mid] == b[:mid]:
            lo = mid
        else:
            hi = mid
    return lo


@dataclass
class Slot:
    """One llama.cpp sequence id and the tokens whose KV it holds (positions 0..n-1)."""

    seq_id: int
    tokens: list[int] = field(default_factory=list)
    busy: bool = False
    last_used: int = 0


@dataclass
class Parked:
    """A finished sequence's KV state in host RAM, with the tokens it covers."""

    tokens: list[int]
    state: bytes
    last_used: int


@dataclass(frozen=True)
class Placement:
    """Where a request runs: ``seq_id`` keeps its first ``reused`` tokens (after copying them
    from ``copy_from``, or restoring ``restore``, when set; the rest of ``seq_id`` is dropped)."""

    seq_id: int
    reused: int
    copy_from: int | None = None
    restore: bytes | None = None


PARKED_BYTES = 1024**3  # host RAM for parked sequences; least recently used go first


class SlotTable:
    """Sequence ids of one context, busy or idle, with the tokens each holds; parked states."""

    def __init__(self, n_seq: int, parked_bytes: int = PARKED_BYTES) -> None:
        self.slots = [Slot(i) for i in range(n_seq)]
        self.parked: list[Parked] = []
        self.parked_budget = parked_bytes
        self._clock = itertools.count(1)

    def place(self, tokens: list[int]) -> Placement | None:
        """Choose an idle sequence for ``tokens`` and mark it busy; None if all are busy.

        The idle sequence sharing the longest prefix wins. If it holds more than that prefix
        (another chat behind a shared system prompt, or the old reply being regenerated), the
        prefix is copied into an empty sequence when there is one, so both stay reusable;
        copying shares KV cells in a unified cache, it costs no compute and no memory.
        At least one token is always left to decode, since sampling needs its logits.
        """
        idle = [s for s in self.slots if not s.busy]
        if not idle:
            return None
        limit = max(0, len(tokens) - 1)
        best = max(idle, key=lambda s: (common_prefix(s.tokens, tokens), s.last_used))
        shared = min(common_prefix(best.tokens, tokens), limit)
        empty = [s for s in idle if not s.tokens]
        stored = max(self.parked, key=lambda p: common_prefix(p.tokens, tokens), default=None)
        from_ram = min(common_prefix(stored.tokens, tokens), limit) if stored else 0
        if stored is not None and from_ram > shared:
            target = empty[0] if empty else min(idle, key=lambda s: s.last_used)
            stored.last_used = next(self._clock)
            placement = Placement(target.seq_id, from_ram, restore=stored.state)
        elif shared == 0:
            target = empty[0] if empty else min(idle, key=lambda s: s.last_used)
            placement = Placement(target.seq_id, 0)
        elif shared < len(best.tokens) and empty:
            target = empty[0]
            placement = Placement(target.seq_id, shared, copy_from=best.seq_id)
        else:
            target = best
            placement = Placement(best.seq_id, shared)
        target.tokens = tokens[: placement.reused]
        target.busy = True
        target.last_used = next(self._clock)
        return placement

    def release(self, seq_id: int) -> None:
        """The request finished: its tokens stay cached for a later request."""
        slot = self.slots[seq_id]
        slot.busy = False
        slot.last_used = next(self._clock)

    def evictable(self) -> list[Slot]:
        """Idle sequences holding tokens, least recently used first."""
        return sorted((s for s in self.slots if not s.busy and s.tokens), key=lambda s: s.last_used)

    def forget(self, seq_id: int) -> None:
        self.slots[seq_id].tokens = []

    def idle_resident(self) -> list[Slot]:
        return [s for s in self.slots if not s.busy and s.tokens]

    def park(self, seq_id: int, state: bytes) -> None:
        """Keep an idle sequence's state in RAM (its cells are then freed by the caller).

        A parked state covering a prefix of this one is superseded and dropped.
        """
        slot = self.slots[seq_id]
        tokens, slot.tokens = slot.tokens, []
        self.parked = [p for p in self.parked if common_prefix(p.tokens, tokens) < len(p.tokens)]
        self.parked.append(Parked(tokens, state, next(self._clock)))
        self.parked.sort(key=lambda p: p.last_used)
        while self.parked and sum(len(p.state) for p in self.parked) > self.parked_budget:
            self.parked.pop(0)

    def used_tokens(self) -> int:
        """Cells in use, counted per sequence (shared prefixes count twice: an upper bound)."""
        return sum(len(s.tokens) for s in self.slots)
