"""Bounded admission: a few requests per model on the engine, the rest wait in a bounded queue.

Why a per-model cap: the chat UI submits to the same engine, which serves requests in order
(or batches a few). Handing it at most ``max_parallel`` API requests means a chat message
waits behind at most that many, however many API clients are queued. Why bounded: a
flood of clients gets a clean 503 instead of unbounded memory and latency.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable


class QueueFull(Exception):
    """Too many requests are already waiting."""


class Admission:
    """Per-key slots with one shared bound on waiters; used from the event loop only."""

    def __init__(self, capacity: Callable[[], int], max_waiting: Callable[[], int]) -> None:
        self._capacity = capacity
        self._max_waiting = max_waiting
        self._running: dict[str, int] = {}
        self._waiters: dict[str, deque[asyncio.Future[None]]] = {}

    @property
    def running(self) -> int:
        return sum(self._running.values())

    @property
    def waiting(self) -> int:
        return sum(len(q) for q in self._waiters.values())

    async def acquire(self, key: str) -> None:
        """Take a slot for ``key``; wait in line if all are busy; QueueFull if the line is full."""
        if self._running.get(key, 0) < self._capacity() and not self._waiters.get(key):
            self._running[key] = self._running.get(key, 0) + 1
            return
        if self.waiting >= self._max_waiting():
            raise QueueFull
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        line = self._waiters.setdefault(key, deque())
        line.append(future)
        try:
            await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                self.release(key)  # the slot was handed over just as we gave up
            elif future in line:
                line.remove(future)
            raise

    def release(self, key: str) -> None:
        """Free a slot: hand it to the next waiter, or return it."""
        line = self._waiters.get(key)
        while line:
            future = line.popleft()
            if not future.done():
                future.set_result(None)
                return
        self._running[key] = max(0, self._running.get(key, 0) - 1)
        if not self._running[key]:
            self._running.pop(key, None)
            self._waiters.pop(key, None)
