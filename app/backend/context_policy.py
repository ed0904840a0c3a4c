"""What to send when a conversation no longer fits the model's context.

The stored conversation is never changed: these functions choose which messages go into
*this* prompt. Policies (LM Studio's three):

* ``stop``: send nothing and say so.
* ``truncate_middle``: keep the system prompt and the first message (what the chat is about)
  and the latest messages; drop the middle.
* ``rolling_window``: keep the system prompt and as many of the latest messages as fit.

Counting tokens means rendering and tokenizing, so the cut is found by binary search
(a dozen counts for a chat of thousands of messages), assuming fewer messages never count more.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

Messages = list[dict[str, Any]]


@dataclass(frozen=True)
class Fit:
    messages: Messages
    tokens: int
    dropped: int = 0
    #: Nothing could be sent (policy "stop", or even the last message alone is too long).
    overflow: bool = False


def _trim_to_user(messages: Messages) -> Messages:
    """Start a window at a user message (a reply without its question confuses models)."""
    for i, message in enumerate(messages):
        if message.get("role") == "user":
            return messages[i:]
    return messages


def fit_messages(
    messages: Sequence[dict[str, Any]],
    count: Callable[[Messages], int],
    budget: int,
    policy: str,
) -> Fit:
    """Choose the messages for the next prompt under ``budget`` tokens."""
    full = list(messages)
    tokens = count(full)
    if tokens <= budget:
        return Fit(full, tokens)
    if policy == "stop" or not full:
        return Fit([], tokens, overflow=True)
    keep_head = 1 if policy == "truncate_middle" and len(full) > 2 else 0
    head = full[:keep_head]

    def attempt(cut: int) -> Messages:
        return head + _trim_to_user(full[cut:])

    low, high = keep_head + 1, len(full) - 1  # keep at least the last message
    best: tuple[Messages, int] | None = None
    while low <= high:
        mid = (low + high) // 2
        candidate = attempt(mid)
        n = count(candidate)
        if n <= budget:
            best = (candidate, n)
            high = mid - 1
        else:
            low = mid + 1
    if best is None and keep_head:
        # Even the first message plus the last does not fit: fall back to the last alone.
        last = [full[-1]]
        n = count(last)
        best = (last, n) if n <= budget else None
    if best is None:
        return Fit([], tokens, overflow=True)
    chosen, n = best
    return Fit(chosen, n, dropped=len(full) - len(chosen))


def reply_reserve(n_ctx: int, max_tokens: int) -> int:
    """Tokens kept free for the reply: the reply limit, but at most a quarter of the context."""
    return max(16, min(max_tokens, n_ctx // 4))
