"""The user's Hugging Face token: ``HF_TOKEN`` from the environment, else the keyring.

Stored only through ``SecretStore`` (keyring, or a private file the user agreed to). Every
call may wait on the keyring (bounded by its timeout), so callers run it off the UI thread.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from app.backend.secrets import SecretBackendStatus, SecretBackendUnavailable, SecretStore
from app.backend.settings.schema import SecretsFileFallback

TOKEN_NAME = "huggingface_token"


class ConsentNeeded(SecretBackendUnavailable):
    """No keyring and the user has not decided about the private file yet: ask them."""


class FileFallbackRefused(SecretBackendUnavailable):
    """No keyring and the user said never to keep the token in a file."""


@dataclass(frozen=True)
class TokenStatus:
    """What the settings UI shows: is there a token, where from, can we store one."""

    has_token: bool
    source: str  # "environment" | "keyring" | "file" | ""
    backend: SecretBackendStatus


class HubToken:
    """Read, store and forget the token; ``HF_TOKEN`` wins over a stored one."""

    def __init__(self, secrets_file: Path, *, timeout_s: float = 3.0) -> None:
        self.store = SecretStore("hearth", fallback_path=secrets_file, timeout_s=timeout_s)

    def get(self) -> str | None:
        env = os.environ.get("HF_TOKEN", "").strip()
        if env:
            return env
        try:
            return self.store.get(TOKEN_NAME)
        except SecretBackendUnavailable:
            return None

    def status(self) -> TokenStatus:
        backend = self.store.backend_status()
        if os.environ.get("HF_TOKEN", "").strip():
            return TokenStatus(True, "environment", backend)
        try:
            stored = self.store.get(TOKEN_NAME)
        except SecretBackendUnavailable:
            stored = None
        source = "" if stored is None else ("keyring" if backend.usable else "file")
        return TokenStatus(stored is not None, source, backend)

    def set(self, token: str, *, allow_file: bool = False) -> None:
        """Store ``token``; raises ``SecretBackendUnavailable`` (ask the user) if no keyring."""
        token = token.strip()
        if not token:
            raise ValueError("The token is empty.")
        if allow_file:
            self.store.allow_file_fallback(True)
        self.store.set(TOKEN_NAME, token)

    def set_with_policy(self, token: str, policy: SecretsFileFallback) -> None:
        """Store ``token`` following the user's remembered answer about the file fallback.

        The keyring is always tried first. Without one: "allow" writes the private file,
        "deny" refuses (``FileFallbackRefused``), "ask" raises ``ConsentNeeded`` so the UI
        asks once and records the answer in settings (``privacy.secrets_file_fallback``).
        """
        self.store.allow_file_fallback(policy == "allow")
        try:
            self.set(token)
        except SecretBackendUnavailable as exc:
            if policy == "deny":
                raise FileFallbackRefused(
                    f"{exc.reason} The token was not saved: keeping it in a file is turned "
                    "off (Settings → Privacy → secrets file fallback)."
                ) from None
            if policy == "ask":
                raise ConsentNeeded(exc.reason) from None
            raise

    def clear(self) -> None:
        self.store.delete(TOKEN_NAME)
