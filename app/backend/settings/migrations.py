"""Settings file migrations, applied to raw JSON data before decoding.

``MIGRATIONS[n]`` turns version ``n`` data into version ``n + 1``. Migrations must tolerate
hand-edited data (missing or odd-typed sections): decoding repairs types afterwards.
A file without a ``version`` is treated as version 1, the first release's format.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from app.backend.settings.schema import SETTINGS_VERSION

Data = dict[str, Any]


def _v1_to_v2(data: Data) -> Data:
    """v1 called the Enter-to-send option ``chat.enter_sends``; v2 names it ``send_with_enter``."""
    chat = data.get("chat")
    if isinstance(chat, dict) and "enter_sends" in chat:
        chat = dict(chat)
        old = chat.pop("enter_sends")
        chat.setdefault("send_with_enter", old)
        data = {**data, "chat": chat}
    return data


MIGRATIONS: dict[int, Callable[[Data], Data]] = {1: _v1_to_v2}

assert max(MIGRATIONS) + 1 == SETTINGS_VERSION, "add a migration when bumping SETTINGS_VERSION"


def migrate(data: Data, from_version: int) -> Data:
    """Apply every migration from ``from_version`` up to the current version."""
    for version in range(from_version, SETTINGS_VERSION):
        data = MIGRATIONS[version](data)
    data["version"] = SETTINGS_VERSION
    return data
