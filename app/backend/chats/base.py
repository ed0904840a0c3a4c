"""SQLite-backed chat history: the connection, transactions and error translation.

Durability choices:

* WAL journal: a reader (the UI listing chats) never blocks the writer saving a streamed reply,
  and a commit is one append to the WAL rather than a rewrite of pages.
* ``synchronous=NORMAL`` (default): in WAL mode every commit is safe against the *process*
  dying (crash, kill -9, OOM) and the file can never be corrupted; only an OS crash or power
  loss may roll back the last few commits since a checkpoint. ``FULL`` adds an fsync per
  commit, which for a reply saved every ~250 ms means several fsyncs a second held under the
  store lock; on slow or busy disks that stalls whoever is waiting on the store. Losing the
  final second of a reply to a power cut is the better trade, so NORMAL is the default and
  ``synchronous="FULL"`` is available to callers that want it.
* One short transaction per change (``BEGIN IMMEDIATE`` … ``COMMIT``), so every call either
  fully lands or leaves the previous state untouched — including when the disk is full.
"""

from __future__ import annotations

import json
import logging
import shutil
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import Any, Literal, Self

from app.backend.chats.models import (
    Attachment,
    ChatNotFoundError,
    ChatStoreError,
    Conversation,
    ConversationOptions,
    Message,
)
from app.backend.chats.schema import SchemaTooNewError, migrate
from app.backend.engine.types import GenerationStats, SamplingParams

log = logging.getLogger(__name__)


class _Unset(Enum):
    UNSET = "unset"


UNSET = _Unset.UNSET

_SQLITE_IOERR = 10
_SQLITE_FULL = 13
_REASONS: dict[int, str] = {
    3: "permission was denied",
    5: "the chat database is in use by another program",
    6: "the chat database is in use by another program",
    8: "the chat database is read-only",
    10: "the disk reported an input/output error",
    11: "the chat database is damaged",
    13: "the disk is full. Free some space and try again",
    14: "the chat database file could not be opened",
    26: "the chat database is damaged",
}


_LOW_SPACE_BYTES = 1 << 20


def _disk_nearly_full(folder: Path | None) -> bool:
    if folder is None:
        return False
    try:
        return shutil.disk_usage(folder).free < _LOW_SPACE_BYTES
    except OSError:
        return False


def _translate(exc: sqlite3.Error, action: str, folder: Path | None = None) -> ChatStoreError:
    """Turn a SQLite error into a sentence for the user; keep the SQLite name for logs.

    SQLite reports some out-of-space failures (growing the WAL index) as generic I/O errors,
    so an I/O error on a nearly full disk is reported as a full disk.
    """
    code = getattr(exc, "sqlite_errorcode", None)
    name = getattr(exc, "sqlite_errorname", None) or type(exc).__name__
    primary = code & 0xFF if isinstance(code, int) else None
    if primary == _SQLITE_IOERR and _disk_nearly_full(folder):
        primary = _SQLITE_FULL
    reason = _REASONS.get(primary) if primary is not None else None
    if reason is None:
        reason = f"an unexpected database error occurred ({name})"
    return ChatStoreError(f"Could not {action}: {reason}.", sqlite_error=name)


def _stats_from_json(text: str | None) -> GenerationStats | None:
    if not text:
        return None
    data = json.loads(text)
    known = {k: v for k, v in data.items() if k in GenerationStats.__dataclass_fields__}
    return GenerationStats(**known)


def _sampling_from_json(text: str) -> SamplingParams:
    try:
        data = json.loads(text or "{}")
        return SamplingParams.from_dict(data if isinstance(data, dict) else {})
    except (ValueError, TypeError):
        log.warning("Unreadable sampling settings on a conversation; using defaults")
        return SamplingParams()


def _json_dict(text: str | None) -> dict[str, Any]:
    try:
        data = json.loads(text or "{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _conversation(row: sqlite3.Row) -> Conversation:
    return Conversation(
        id=row["id"],
        title=row["title"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        system_prompt=row["system_prompt"],
        sampling=_sampling_from_json(row["sampling_json"]),
        model_id=row["model_id"],
        folder_id=row["folder_id"],
        pinned=bool(row["pinned"]),
        deleted_at=row["deleted_at"],
        options=ConversationOptions.from_dict(_json_dict(row["options_json"])),
    )


def _attachment(row: sqlite3.Row) -> Attachment:
    return Attachment(
        row["id"], row["message_id"], row["name"], row["kind"], row["size"], row["text"]
    )


def _message(row: sqlite3.Row) -> Message:
    return Message(
        id=row["id"],
        conversation_id=row["conversation_id"],
        role=row["role"],
        content=row["content"],
        status=row["status"],
        created_at=row["created_at"],
        stats=_stats_from_json(row["stats_json"]),
        stop_reason=row["stop_reason"],
        error=row["error"],
        model_id=row["model_id"],
        parent_id=row["parent_id"],
        meta=_json_dict(row["meta_json"]),
    )


class StoreBase:
    """The connection and its transactions; safe to share between threads.

    Meant for one process at a time (the app is single-instance): opening the store marks any
    reply still "streaming" as "interrupted", which would be wrong for a live second writer.
    """

    def __init__(self, path: Path, *, synchronous: Literal["NORMAL", "FULL"] = "NORMAL") -> None:
        self.path = Path(path)
        self._lock = threading.RLock()
        self.last_backup: Path | None = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(
                self.path, check_same_thread=False, isolation_level=None, timeout=5.0
            )
        except (OSError, sqlite3.Error) as exc:
            if isinstance(exc, sqlite3.Error):
                raise _translate(exc, "open the chats", self.path.parent) from exc
            raise ChatStoreError(f"Could not open the chats: {exc.strerror or exc}.") from exc
        self._conn.row_factory = sqlite3.Row
        try:
            self._conn.execute("PRAGMA journal_mode = WAL")
            self._conn.execute(f"PRAGMA synchronous = {synchronous}")
            self._conn.execute("PRAGMA foreign_keys = ON")
            self.last_backup = migrate(self._conn, self.path)
        except SchemaTooNewError as exc:
            self._conn.close()
            raise ChatStoreError(
                "Could not open the chats: they were saved by a newer version of Hearth."
            ) from exc
        except sqlite3.Error as exc:
            self._conn.close()
            raise _translate(exc, "open the chats", self.path.parent) from exc
        except BaseException:
            self._conn.close()
            raise
        try:
            self.recover_interrupted()
        except ChatStoreError as exc:
            # E.g. the disk is full: the chats can still be read; recovery retries next start.
            log.warning("Could not mark interrupted replies: %s", exc)

    # -- plumbing -------------------------------------------------------------------------

    @contextmanager
    def _write(self, action: str = "save the chat") -> Iterator[sqlite3.Connection]:
        """One transaction; on any failure roll back and raise ``ChatStoreError``."""
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                yield self._conn
                self._conn.execute("COMMIT")
            except BaseException as exc:
                self._rollback()
                if isinstance(exc, sqlite3.Error):
                    log.warning("Chat write failed (%s): %s", action, exc)
                    raise _translate(exc, action, self.path.parent) from exc
                raise

    def _rollback(self) -> None:
        # SQLite may already have rolled back by itself (e.g. on SQLITE_FULL).
        if self._conn.in_transaction:
            try:
                self._conn.execute("ROLLBACK")
            except sqlite3.Error:
                log.exception("Rollback failed")

    def _read(self, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        with self._lock:
            try:
                return self._conn.execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                raise _translate(exc, "read the chats", self.path.parent) from exc

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- maintenance ----------------------------------------------------------------------

    def recover_interrupted(self) -> int:
        """Replies left "streaming" by a crash become "interrupted"; returns how many."""
        with self._write("recover interrupted replies") as conn:
            n = conn.execute(
                "UPDATE messages SET status = 'interrupted' WHERE status = 'streaming'"
            ).rowcount
        if n:
            log.info("Marked %d reply(ies) left streaming by a previous run as interrupted", n)
        return n

    def integrity_check(self) -> str:
        """SQLite's ``PRAGMA integrity_check``: "ok", or the problems found, one per line."""
        rows = self._read("PRAGMA integrity_check")
        return "\n".join(str(r[0]) for r in rows)

    def _touch(self, conn: sqlite3.Connection, conv_id: int, **columns: Any) -> None:
        """Set ``columns`` and bump ``updated_at``; raise if the conversation is gone."""
        columns["updated_at"] = time.time()
        assignments = ", ".join(f"{name} = ?" for name in columns)  # names are ours, not input
        cur = conn.execute(
            f"UPDATE conversations SET {assignments} WHERE id = ?", (*columns.values(), conv_id)
        )
        if cur.rowcount == 0:
            raise ChatNotFoundError(f"The chat no longer exists (id {conv_id}).")
