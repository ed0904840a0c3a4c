"""API tokens, stored only as salted hashes in ``server-tokens.json`` under the data root.

Why not the keyring: a headless server often has none, and the server never needs a token
back, only to check one. A token is 256 random bits, so a salted SHA-256 is enough (no slow
KDF needed: there is nothing to brute-force) and keeps every request's check in microseconds.
A new token is returned once by :meth:`TokenStore.create` and never again.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

TOKEN_PREFIX = "hth_"
FILE_NAME = "server-tokens.json"


@dataclass(frozen=True)
class TokenRecord:
    """What is kept of a token: never the token itself."""

    id: str
    name: str
    created: float
    salt: str
    hash: str


class TokenStore:
    """Create, list, revoke and verify tokens; re-reads the file when another process wrote it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._records: list[TokenRecord] = []
        self._stamp: tuple[int, int] | None = None

    @classmethod
    def in_root(cls, root: Path) -> TokenStore:
        return cls(root / FILE_NAME)

    # ----------------------------------------------------------------- queries
    def records(self) -> list[TokenRecord]:
        with self._lock:
            return list(self._fresh())

    def enabled(self) -> bool:
        """Tokens are required as soon as one exists."""
        return bool(self.records())

    def verify(self, token: str) -> TokenRecord | None:
        """The record ``token`` belongs to, compared in constant time against every record."""
        found: TokenRecord | None = None
        data = token.encode("utf-8", "surrogatepass")
        for record in self.records():
            digest = _digest(bytes.fromhex(record.salt), data)
            if hmac.compare_digest(digest, record.hash) and found is None:
                found = record
        return found

    # ----------------------------------------------------------------- changes
    def create(self, name: str) -> tuple[TokenRecord, str]:
        """A new token: the record (kept) and the token text (shown once, then forgotten)."""
        name = name.strip()
        if not name:
            raise ValueError("A token needs a name.")
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        salt = secrets.token_bytes(16)
        record = TokenRecord(
            id=secrets.token_hex(4),
            name=name[:80],
            created=time.time(),
            salt=salt.hex(),
            hash=_digest(salt, token.encode()),
        )
        with self._lock:
            self._write([*self._fresh(), record])
        return record, token

    def revoke(self, id_or_name: str) -> TokenRecord:
        """Remove a token by id or (unique) name."""
        with self._lock:
            records = self._fresh()
            matches = [r for r in records if id_or_name in (r.id, r.name)]
            if len(matches) != 1:
                what = "several tokens" if matches else "no token"
                raise KeyError(f"'{id_or_name}' matches {what}.")
            self._write([r for r in records if r is not matches[0]])
            return matches[0]

    # --------------------------------------------------------------- internals
    def _fresh(self) -> list[TokenRecord]:
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            self._records, self._stamp = [], None
            return self._records
        stamp = (stat.st_mtime_ns, stat.st_size)
        if stamp != self._stamp:
            try:
                data = json.loads(self.path.read_text())
                self._records = [TokenRecord(**item) for item in data.get("tokens", [])]
            except (OSError, ValueError, TypeError) as exc:
                # Fail closed: an unreadable store must not silently turn authentication off.
                raise RuntimeError(f"The API token file cannot be read: {exc}") from exc
            self._stamp = stamp
        return self._records

    def _write(self, records: list[TokenRecord]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        payload = json.dumps({"version": 1, "tokens": [asdict(r) for r in records]}, indent=1)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(payload)
        os.replace(tmp, self.path)
        self._records = records
        stat = self.path.stat()
        self._stamp = (stat.st_mtime_ns, stat.st_size)


def _digest(salt: bytes, token: bytes) -> str:
    return hashlib.sha256(salt + token).hexdigest()
