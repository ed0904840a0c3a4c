"""The "local only" switch: when on, nothing leaves this computer.

Every feature that talks to the network asks here first, so the switch is one rule in one
place rather than a flag each feature remembers. The hooks:

* Hub search and model pages: ``require_network(settings, "Hugging Face search")`` before a
  request (``LocalOnlyError`` carries a sentence fit to show the user).
* Downloads: the same before starting or resuming a transfer.
* Remote engines: ``app.backend.remote`` checks before listing models or submitting.

The switch is off by default; turning it on is instant (requests already running finish, new
ones are refused) and the window shows that it is on.
"""

from __future__ import annotations

from collections.abc import Callable


class LocalOnlyError(Exception):
    """Refused because "Local only" is on; ``str()`` says what was refused and how to allow it."""

    def __init__(self, what: str) -> None:
        self.what = what
        super().__init__(
            f"{what} is off because Local only is on: nothing leaves this computer. "
            "Turn Local only off in Settings → Privacy to use it."
        )


def is_local_only(settings: object) -> bool:
    """Whether ``settings`` (a ``Settings``) forbid network use; tolerant of partial objects."""
    privacy = getattr(settings, "privacy", None)
    return bool(getattr(privacy, "local_only", False))


def require_network(settings: object, what: str) -> None:
    """Raise ``LocalOnlyError`` naming ``what`` if the switch is on."""
    if is_local_only(settings):
        raise LocalOnlyError(what)


class PrivacyGuard:
    """The switch read through a getter, so a long-lived service sees the current settings."""

    def __init__(self, settings: Callable[[], object]) -> None:
        self._settings = settings

    @property
    def local_only(self) -> bool:
        return is_local_only(self._settings())

    def check(self, what: str) -> None:
        require_network(self._settings(), what)


__all__ = ["LocalOnlyError", "PrivacyGuard", "is_local_only", "require_network"]
