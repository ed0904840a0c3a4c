"""Secrets (API tokens) through the OS keyring, with an opt-in private-file fallback.

Why this shape:

* Keyring backends can hang (a locked Secret Service waiting on a prompt that never shows, a
  dead D-Bus), so every keyring call runs in a daemon worker thread with a timeout; a hung call
  surfaces as ``SecretBackendUnavailable`` and later calls fail fast until it returns.
* Headless Linux often has no backend at all. Storing secrets in a plain file is then the only
  option, and that is the user's decision: ``set`` refuses until ``allow_file_fallback(True)``
  (the UI asks first). The file is created owner-only (0600) and checked on every read.
* Secret values never reach logs, ``repr`` or exception messages — not even a backend's own
  error text, which could echo what it was given.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets as _random
import stat
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import keyring
import keyring.errors
from keyring.backend import KeyringBackend
from keyring.backends import chainer, fail
from keyring.backends import null as null_backend

log = logging.getLogger(__name__)

T = TypeVar("T")

_FILE_VERSION = 1
_POSIX = os.name == "posix"


class SecretBackendUnavailable(Exception):
    """Secrets cannot be stored or read right now; ``str()`` explains why, for the user.

    ``reason`` is the why alone, without advice on what to do about it (a caller with its
    own advice words the message itself)."""

    def __init__(self, message: str, reason: str | None = None) -> None:
        super().__init__(message)
        self.reason = message if reason is None else reason


@dataclass(frozen=True)
class SecretBackendStatus:
    usable: bool
    name: str
    reason: str


def _assess(backend: KeyringBackend) -> SecretBackendStatus:
    """Whether ``backend`` can actually hold secrets (fail/null/empty chainer cannot)."""
    name = str(getattr(backend, "name", None) or type(backend).__name__)
    none_found = (
        "No system keyring is available (no Secret Service, KWallet, macOS Keychain or "
        "Windows Credential Manager was found)."
    )
    if isinstance(backend, fail.Keyring):
        return SecretBackendStatus(False, name, none_found)
    if isinstance(backend, null_backend.Keyring):
        return SecretBackendStatus(False, name, "Keyring access is disabled (null backend).")
    if isinstance(backend, chainer.ChainerBackend) and not backend.backends:
        return SecretBackendStatus(False, name, none_found)
    return SecretBackendStatus(True, name, "")


class SecretStore:
    """Named secrets for one service in the OS keyring (or, with consent, a private file)."""

    def __init__(
        self, service: str = "hearth", *, fallback_path: Path, timeout_s: float = 3.0
    ) -> None:
        self.service = service
        self.fallback_path = Path(fallback_path)
        self.timeout_s = timeout_s
        self._fallback_allowed = False
        self._lock = threading.RLock()
        self._stuck: threading.Thread | None = None

    def __repr__(self) -> str:
        return (
            f"SecretStore(service={self.service!r}, fallback_path={str(self.fallback_path)!r}, "
            f"file_fallback_allowed={self._fallback_allowed})"
        )

    # -- consent ----------------------------------------------------------------------------

    def allow_file_fallback(self, allowed: bool) -> None:
        """Record the user's answer to "keep secrets in a private file instead?"."""
        self._fallback_allowed = allowed

    @property
    def file_fallback_allowed(self) -> bool:
        return self._fallback_allowed

    # -- keyring plumbing -----------------------------------------------------------------

    def _call(self, what: str, fn: Callable[[], T]) -> T:
        """Run ``fn`` in a worker thread; give up after ``timeout_s``."""
        with self._lock:
            if self._stuck is not None:
                if self._stuck.is_alive():
                    raise SecretBackendUnavailable(
                        "The system keyring is still not responding to an earlier request."
                    )
                self._stuck = None
        box: dict[str, Any] = {}
        done = threading.Event()

        def run() -> None:
            try:
                box["value"] = fn()
            except BaseException as exc:
                box["error"] = exc
            finally:
                done.set()

        worker = threading.Thread(target=run, name=f"keyring-{what}", daemon=True)
        worker.start()
        if not done.wait(self.timeout_s):
            with self._lock:
                self._stuck = worker
            log.warning("Keyring %s did not finish within %.1f s", what, self.timeout_s)
            raise SecretBackendUnavailable(
                f"The system keyring did not respond within {self.timeout_s:g} s. "
                "It may be locked or waiting for a password prompt."
            )
        if "error" in box:
            exc = box.pop("error")
            # Only the type is reported: a backend's message could echo the secret it was given.
            log.warning("Keyring %s failed: %s", what, type(exc).__name__)
            if isinstance(exc, keyring.errors.KeyringLocked):
                message = "The system keyring is locked. Unlock it and try again."
            else:
                message = f"The system keyring failed ({type(exc).__name__})."
            raise SecretBackendUnavailable(message) from None
        return box["value"]

    def backend_status(self) -> SecretBackendStatus:
        """Which keyring is in use and whether it can hold secrets (never raises)."""
        try:
            return self._call("status", lambda: _assess(keyring.get_keyring()))
        except SecretBackendUnavailable as exc:
            return SecretBackendStatus(False, "unknown", str(exc))

    # -- public API -----------------------------------------------------------------------

    def get(self, name: str) -> str | None:
        """The secret, or None if it was never stored."""
        _check_name(name)
        if self.backend_status().usable:
            value = self._call("get", lambda: keyring.get_password(self.service, name))
            if value is not None:
                return str(value)
        with self._lock:
            return self._read_file().get(name)

    def set(self, name: str, value: str) -> None:
        """Store a secret; raises ``SecretBackendUnavailable`` if there is nowhere safe to."""
        _check_name(name)
        if not isinstance(value, str):
            raise TypeError("secret values must be str")
        status = self.backend_status()
        if status.usable:
            self._call("set", lambda: keyring.set_password(self.service, name, value))
            with self._lock:  # a stale plaintext copy must not outlive the keyring entry
                self._remove_from_file(name)
            log.info("Stored secret %r in %s", name, status.name)
            return
        if not self._fallback_allowed:
            raise SecretBackendUnavailable(
                f"{status.reason} Allow storing secrets in a private file to save it anyway.",
                status.reason,
            )
        with self._lock:
            data = self._read_file()
            data[name] = value
            self._write_file(data)
        log.info("Stored secret %r in the private secrets file", name)

    def delete(self, name: str) -> None:
        """Forget a secret wherever it is; deleting a missing one is fine."""
        _check_name(name)
        if self.backend_status().usable:

            def remove() -> None:
                with contextlib.suppress(keyring.errors.PasswordDeleteError):
                    keyring.delete_password(self.service, name)

            self._call("delete", remove)
        with self._lock:
            self._remove_from_file(name)

    # -- private file fallback ----------------------------------------------------------

    def _read_file(self) -> dict[str, str]:
        """This service's secrets from the fallback file, after checking it is private."""
        flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)
        try:
            fd = os.open(self.fallback_path, flags)
        except FileNotFoundError:
            return {}
        except OSError as exc:
            raise SecretBackendUnavailable(
                f"The private secrets file could not be opened ({exc.strerror})."
            ) from None
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise SecretBackendUnavailable("The private secrets file is not a regular file.")
            if _POSIX:
                if st.st_uid != os.getuid():
                    raise SecretBackendUnavailable(
                        "The private secrets file belongs to another user; refusing to use it."
                    )
                if st.st_mode & 0o077:
                    log.warning(
                        "Private secrets file %s was accessible to other users; "
                        "restricting it to its owner",
                        self.fallback_path,
                    )
                    os.fchmod(fd, 0o600)
            with os.fdopen(os.dup(fd), "rb") as f:
                raw = f.read()
        finally:
            os.close(fd)
        try:
            doc = json.loads(raw.decode("utf-8"))
            services = doc["services"]
            section = services.get(self.service, {})
            if not isinstance(section, dict) or not all(
                isinstance(v, str) for v in section.values()
            ):
                raise ValueError
        except (ValueError, KeyError, TypeError, AttributeError):
            raise SecretBackendUnavailable(
                "The private secrets file is damaged; fix or delete it to store secrets again."
            ) from None
        return dict(section)

    def _full_document(self) -> dict[str, Any]:
        try:
            with open(self.fallback_path, "rb") as f:
                doc = json.loads(f.read().decode("utf-8"))
            return doc if isinstance(doc, dict) else {}
        except (OSError, ValueError):
            return {}

    def _write_file(self, section: dict[str, str]) -> None:
        """Replace the file atomically; the new file is owner-only from its first byte."""
        doc = self._full_document()
        existing = doc.get("services")
        services: dict[str, Any] = existing if isinstance(existing, dict) else {}
        if section:
            services[self.service] = section
        else:
            services.pop(self.service, None)
        if not services:
            with contextlib.suppress(FileNotFoundError):
                self.fallback_path.unlink()
            return
        payload = json.dumps({"version": _FILE_VERSION, "services": services}).encode("utf-8")
        parent = self.fallback_path.parent
        tmp = parent / f".{self.fallback_path.name}.{_random.token_hex(6)}.tmp"
        try:
            parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(payload)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.fallback_path)
        except OSError as exc:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise SecretBackendUnavailable(
                f"The private secrets file could not be written ({exc.strerror})."
            ) from None

    def _remove_from_file(self, name: str) -> None:
        if not self.fallback_path.exists():
            return
        data = self._read_file()
        if name in data:
            del data[name]
            self._write_file(data)


def _check_name(name: str) -> None:
    if not isinstance(name, str) or not name:
        raise ValueError("secret name must be a non-empty string")
