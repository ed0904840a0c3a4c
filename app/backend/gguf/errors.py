"""Errors raised while reading GGUF files.

Every ``GGUFError`` message is meant to be shown to the user as-is: it names the file
and says what is wrong with it in plain words. Callers should never need a traceback.
"""

from __future__ import annotations


class GGUFError(ValueError):
    """Base class: the file can't be used as a model; ``str(err)`` explains why."""

    def __init__(self, message: str, *, path: str | None = None) -> None:
        super().__init__(message)
        self.path = path


class NotGGUFError(GGUFError):
    """The file does not start with the GGUF magic (wrong file picked, HTML error page...)."""


class TruncatedGGUFError(GGUFError):
    """The file ends too early: inside the header, or before the end of the tensor data."""


class CorruptGGUFError(GGUFError):
    """The header holds impossible values (absurd counts or lengths, unknown types...)."""


class UnsupportedArchitectureError(GGUFError):
    """The model's architecture is one llama.cpp can't run (or it is not a language model)."""


class NeedMoreData(Exception):
    """A partial source (e.g. an HTTP range prefix) ended before the header did.

    Not a ``GGUFError``: the file may be fine, the caller just has to fetch at least
    ``needed_end`` bytes from the start and try again. ``needed_end`` is the minimum for
    the *next* field only, so widen geometrically (e.g. ``max(needed_end, 2 * have)``).
    """

    def __init__(self, needed_end: int) -> None:
        super().__init__(f"need the first {needed_end} bytes of the file")
        self.needed_end = needed_end
