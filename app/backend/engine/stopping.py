"""Stop strings over a token stream.

Text that could still turn into a stop string is held back, so a client never sees the first
half of a stop sequence it asked us to cut.
"""

from __future__ import annotations

from collections.abc import Sequence


class StopStringMatcher:
    """Feed text as it is generated; get back what is safe to show and whether to stop."""

    def __init__(self, stop: Sequence[str]) -> None:
        self._stop = [s for s in stop if s]
        self._pending = ""
        self.stopped = False

    def feed(self, text: str) -> str:
        """Return the text that can be emitted now; sets ``stopped`` once a stop string appears."""
        if self.stopped:
            return ""
        if not self._stop:
            return text
        self._pending += text
        first = min(
            (pos for pos in (self._pending.find(s) for s in self._stop) if pos >= 0),
            default=-1,
        )
        if first >= 0:
            self.stopped = True
            emit, self._pending = self._pending[:first], ""
            return emit
        keep = self._longest_partial_suffix()
        emit = self._pending[: len(self._pending) - keep]
        self._pending = self._pending[len(emit) :]
        return emit

    def flush(self) -> str:
        """At the end of generation, release whatever was held back."""
        rest, self._pending = ("" if self.stopped else self._pending), ""
        return rest

    def _longest_partial_suffix(self) -> int:
        """Length of the longest end of the pending text that begins some stop string."""
        best = 0
        for stop in self._stop:
            for length in range(min(len(stop) - 1, len(self._pending)), best, -1):
                if self._pending.endswith(stop[:length]):
                    best = length
                    break
        return best
