"""Several answers to one request (OpenAI's ``n``): one engine request per choice.

The engine decodes concurrent requests in the same steps (continuous batching), so ``n``
choices cost little more than one on a machine with spare memory bandwidth. Each choice is
an ordinary ``Run``; this module starts them together, collects them, and interleaves
their streams, tagging every piece with its choice index.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from typing import Any

from app.backend.engine.types import SamplingParams, TokenLogprob
from app.backend.server.common import Run, get
from app.backend.server.errors import ApiError

MAX_CHOICES = 8  # the most sequences the planner gives a model; more would only queue


def choice_count(body: dict[str, Any]) -> int:
    n = int(get(body, "n", int, 1))
    if not 1 <= n <= MAX_CHOICES:
        raise ApiError(400, f"'n' must be between 1 and {MAX_CHOICES}.")
    return n


def varied(sampling: SamplingParams, index: int) -> SamplingParams:
    """Choice ``index``'s sampling: a given seed moves on by the index, so choices differ
    but the whole answer stays reproducible."""
    if index == 0 or sampling.seed is None:
        return sampling
    copy = SamplingParams.from_dict(sampling.to_dict())
    copy.seed = (sampling.seed + index) % 2**32
    return copy


async def start_all(runs: Sequence[Run]) -> None:
    """Admit every choice before answering (a full queue is one 503, nothing half sent)."""
    started: list[Run] = []
    try:
        for run in runs:
            await run.start()
            started.append(run)
    except BaseException:
        close_all(started)
        raise


def close_all(runs: Sequence[Run]) -> None:
    for run in runs:
        run.close()


async def whole_all(runs: Sequence[Run]) -> list[str]:
    try:
        return list(await asyncio.gather(*(run.whole() for run in runs)))
    except BaseException:
        close_all(runs)
        raise


Piece = tuple[str, list[TokenLogprob] | None]


async def interleaved(runs: Sequence[Run]) -> AsyncIterator[tuple[int, Piece | None]]:
    """``(index, (text, logprobs))`` as each choice produces text, ``(index, None)`` when it
    ends. The first failure of any choice is raised (``ApiError``), the others are closed.
    """
    queue: asyncio.Queue[tuple[int, Piece | BaseException | None]] = asyncio.Queue()

    async def pump(index: int, run: Run) -> None:
        try:
            async for piece in run.pieces():
                await queue.put((index, piece))
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # handed to the consumer, which raises it
            await queue.put((index, exc))
            return
        await queue.put((index, None))

    tasks = [asyncio.create_task(pump(i, run)) for i, run in enumerate(runs)]
    try:
        running = len(tasks)
        while running:
            index, item = await queue.get()
            if isinstance(item, BaseException):
                close_all(runs)
                raise item
            if item is None:
                running -= 1
            yield index, item
    finally:
        for task in tasks:
            task.cancel()
