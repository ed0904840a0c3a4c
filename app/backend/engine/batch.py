"""A reusable ``llama_batch`` over Python-owned ctypes arrays.

Why not ``llama_batch_init`` per step: the scheduler fills one batch per decode step, and at
one decode thread the Python work per step is part of every token's latency. The arrays are
allocated once; a step only writes a few integers per token.
"""

from __future__ import annotations

import ctypes

import llama_cpp as ll


class TokenBatch:
    """Tokens for one ``llama_decode``: each with a position, one sequence id, a logits flag."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.token = (ll.llama_token * capacity)()
        self.pos = (ll.llama_pos * capacity)()
        self.n_seq_id = (ctypes.c_int32 * capacity)(*([1] * capacity))
        self._seq_store = (ll.llama_seq_id * capacity)()
        base = ctypes.addressof(self._seq_store)
        size = ctypes.sizeof(ll.llama_seq_id)
        pointer_type = ctypes.POINTER(ll.llama_seq_id)
        self.seq_id = (pointer_type * capacity)(
            *[ctypes.cast(base + i * size, pointer_type) for i in range(capacity)]
        )
        self.logits = (ctypes.c_int8 * capacity)()
        self.struct = ll.llama_batch(
            n_tokens=0,
            token=ctypes.cast(self.token, ctypes.POINTER(ll.llama_token)),
            embd=None,
            pos=ctypes.cast(self.pos, ctypes.POINTER(ll.llama_pos)),
            n_seq_id=ctypes.cast(self.n_seq_id, ctypes.POINTER(ctypes.c_int32)),
            seq_id=ctypes.cast(self.seq_id, ctypes.POINTER(pointer_type)),
            logits=ctypes.cast(self.logits, ctypes.POINTER(ctypes.c_int8)),
        )
        self.n_tokens = 0

    def clear(self) -> None:
        self.n_tokens = 0

    @property
    def free(self) -> int:
        return self.capacity - self.n_tokens

    def add(self, token: int, pos: int, seq_id: int, logits: bool) -> int:
        """Append one token; returns its index (the index to sample from if ``logits``)."""
        i = self.n_tokens
        self.token[i] = token
        self.pos[i] = pos
        self._seq_store[i] = seq_id
        self.logits[i] = 1 if logits else 0
        self.n_tokens = i + 1
        return i

    def add_run(self, tokens: list[int], first_pos: int, seq_id: int, logits_last: bool) -> int:
        """Append consecutive tokens of one sequence; returns the index of the last one."""
        n = len(tokens)
        start = self.n_tokens
        end = start + n
        self.token[start:end] = list(tokens)
        self.pos[start:end] = list(range(first_pos, first_pos + n))
        self._seq_store[start:end] = [seq_id] * n
        self.logits[start:end] = [0] * n
        if logits_last:
            self.logits[end - 1] = 1
        self.n_tokens = end
        return end - 1

    def view(self) -> ll.llama_batch:
        self.struct.n_tokens = self.n_tokens
        return self.struct
