"""Loading and saving the settings file.

Loading never fails: a missing file gives defaults, a corrupt one is moved aside to
``settings.json.corrupt-<timestamp>`` (so the user's edits are not lost) and defaults are used,
and bad individual values are reset with a logged warning. Saving is atomic (temp file, fsync,
``os.replace``) so a crash mid-save leaves either the old or the new file, never half of one.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.backend.settings.codec import decode, encode
from app.backend.settings.migrations import migrate
from app.backend.settings.schema import SETTINGS_VERSION, Settings

log = logging.getLogger(__name__)


class SettingsError(Exception):
    """Settings could not be saved; ``str()`` is a sentence fit to show the user."""


def _stamp() -> str:
    return time.strftime("%Y%m%d-%H%M%S")


def _aside(path: Path, suffix: str) -> Path:
    candidate = path.with_name(f"{path.name}.{suffix}")
    n = 1
    while candidate.exists():
        candidate = path.with_name(f"{path.name}.{suffix}-{n}")
        n += 1
    return candidate


class SettingsStore:
    """The settings file at ``path``; ``update`` is safe to call from several threads."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.RLock()
        #: Repairs made by the last ``load()`` (reset values, dropped keys), for the UI to show.
        self.last_warnings: list[str] = []

    def load(self) -> Settings:
        with self._lock:
            self.last_warnings = []
            raw = self._read_raw()
            if raw is None:
                return Settings()
            data = self._upgrade(raw)
            settings = decode(Settings, data, self.last_warnings)
            settings.version = SETTINGS_VERSION
            for warning in self.last_warnings:
                log.warning("Settings %s: %s", self.path.name, warning)
            return settings

    def _read_raw(self) -> dict[str, Any] | None:
        try:
            text = self.path.read_bytes().decode("utf-8")
        except FileNotFoundError:
            return None
        except OSError as exc:
            self._warn(f"could not read the settings file ({exc.strerror}); using defaults")
            return None
        except UnicodeDecodeError:
            self._quarantine("not valid UTF-8")
            return None
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            self._quarantine(f"invalid JSON ({exc.msg} at line {exc.lineno})")
            return None
        if not isinstance(data, dict):
            self._quarantine("not a JSON object")
            return None
        return data

    def _quarantine(self, why: str) -> None:
        """Move a corrupt file aside rather than overwrite it on the next save."""
        dest = _aside(self.path, f"corrupt-{_stamp()}")
        try:
            os.replace(self.path, dest)
            self._warn(f"settings file is corrupt ({why}); moved to {dest.name}, using defaults")
        except OSError as exc:
            self._warn(f"settings file is corrupt ({why}) and could not be moved: {exc}")

    def _upgrade(self, data: dict[str, Any]) -> dict[str, Any]:
        version = data.get("version", 1)
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            self._warn(f"invalid settings version {version!r}; treating it as version 1")
            version = 1
        if version > SETTINGS_VERSION:
            # Written by a newer Hearth: read what we understand, but keep its file safe
            # from being downgraded by our next save.
            dest = _aside(self.path, f"bak-v{version}")
            try:
                shutil.copy2(self.path, dest)
            except OSError as exc:
                log.warning("Could not back up newer settings file: %s", exc)
            self._warn(f"settings are from a newer version (v{version}); copy kept at {dest.name}")
            return dict(data)
        return migrate(dict(data), version)

    def _warn(self, message: str) -> None:
        self.last_warnings.append(message)

    def save(self, settings: Settings) -> None:
        """Write atomically; raise ``SettingsError`` (old file intact) if that is impossible."""
        settings.version = SETTINGS_VERSION
        payload = json.dumps(encode(settings), indent=2, sort_keys=True) + "\n"
        with self._lock:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                fd, tmp = tempfile.mkstemp(
                    dir=self.path.parent, prefix=f".{self.path.name}.", suffix=".tmp"
                )
            except OSError as exc:
                raise SettingsError(f"Could not save settings: {exc.strerror or exc}.") from exc
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as f:
                    f.write(payload)
                    f.flush()
                    os.fsync(f.fileno())
                os.replace(tmp, self.path)
            except OSError as exc:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                raise SettingsError(f"Could not save settings: {exc.strerror or exc}.") from exc
            self._fsync_dir()

    def _fsync_dir(self) -> None:
        """Make the rename itself durable (POSIX only; Windows has no directory fsync)."""
        if os.name != "posix":
            return
        try:
            dfd = os.open(self.path.parent, os.O_RDONLY)
        except OSError:
            return
        try:
            with contextlib.suppress(OSError):
                os.fsync(dfd)
        finally:
            os.close(dfd)

    def update(self, fn: Callable[[Settings], Settings | None]) -> Settings:
        """Load, apply ``fn`` (mutate in place or return a new object), save; atomically."""
        with self._lock:
            settings = self.load()
            result = fn(settings)
            if result is not None:
                settings = result
            self.save(settings)
            return settings
