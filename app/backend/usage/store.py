"""Usage records: one row per generation, in ``usage.db`` beside ``chats.db``.

A separate file rather than a table in ``chats.db``: the chat store owns that file's schema
and migrations, and its write transactions (a reply saved every 250 ms) would contend with
API threads recording usage. Deleting, exporting or importing chats also must not touch the
accounting, and the accounting can be reset on its own. It still lives in the data root, so
it is backed up and moved with the chats.

Rows hold counts only, never content. ``day`` is the local calendar day when the generation
started, fixed at write time so reports group the same way whatever the timezone later is.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS usage_schema (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS usage (
    id INTEGER PRIMARY KEY,
    started_at REAL NOT NULL,
    day TEXT NOT NULL,
    source TEXT NOT NULL,
    model_id TEXT NOT NULL,
    engine TEXT NOT NULL DEFAULT 'local',
    prompt_tokens INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    duration_s REAL NOT NULL,
    energy_j REAL
);
CREATE INDEX IF NOT EXISTS usage_day ON usage (day);
"""


@dataclass(frozen=True)
class UsageRecord:
    """One generation's counts. ``engine`` is "local" or "remote:<endpoint>"."""

    source: str
    model_id: str
    prompt_tokens: int
    completion_tokens: int
    started_at: float
    duration_s: float
    energy_j: float | None = None
    engine: str = "local"
    day: str = ""
    id: int | None = None

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    @property
    def is_local(self) -> bool:
        return self.engine == "local"


@dataclass(frozen=True)
class DailyUsage:
    """Records summed per (day, model, source, engine)."""

    day: str
    model_id: str
    source: str
    engine: str
    requests: int
    prompt_tokens: int
    completion_tokens: int
    duration_s: float
    energy_j: float  # sum over measured records
    measured_tokens: int  # prompt + completion tokens of the records that have energy

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


def local_day(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp).strftime("%Y-%m-%d")


class UsageStore:
    """Thread-safe: the chat bridge, API threads and the dashboard share one connection."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA busy_timeout=5000")
        self._migrate()

    def _migrate(self) -> None:
        with self._tx() as db:
            for statement in filter(str.strip, _SCHEMA.split(";")):
                db.execute(statement)
            row = db.execute("SELECT version FROM usage_schema").fetchone()
            if row is None:
                db.execute("INSERT INTO usage_schema (version) VALUES (?)", (SCHEMA_VERSION,))
            elif row[0] > SCHEMA_VERSION:
                raise RuntimeError(
                    f"{self.path.name} was written by a newer Hearth (schema {row[0]})."
                )

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    # ------------------------------------------------------------------ writing
    def add(self, record: UsageRecord) -> UsageRecord:
        """Store one record (``day`` filled in from ``started_at`` when empty)."""
        day = record.day or local_day(record.started_at)
        with self._tx() as db:
            cur = db.execute(
                "INSERT INTO usage (started_at, day, source, model_id, engine, prompt_tokens,"
                " completion_tokens, duration_s, energy_j) VALUES (?,?,?,?,?,?,?,?,?)",
                (
                    record.started_at,
                    day,
                    record.source,
                    record.model_id,
                    record.engine,
                    max(0, int(record.prompt_tokens)),
                    max(0, int(record.completion_tokens)),
                    max(0.0, float(record.duration_s)),
                    None if record.energy_j is None else max(0.0, float(record.energy_j)),
                ),
            )
        return UsageRecord(**{**record.__dict__, "day": day, "id": cur.lastrowid})

    def clear(self) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM usage")

    # ------------------------------------------------------------------ reading
    def records(self, since_day: str | None = None) -> list[UsageRecord]:
        sql = (
            "SELECT source, model_id, prompt_tokens, completion_tokens, started_at, duration_s,"
            " energy_j, engine, day, id FROM usage"
        )
        args: tuple[str, ...] = ()
        if since_day:
            sql += " WHERE day >= ?"
            args = (since_day,)
        with self._lock:
            rows = self._db.execute(sql + " ORDER BY started_at, id", args).fetchall()
        return [UsageRecord(*row) for row in rows]

    def daily(self, since_day: str | None = None) -> list[DailyUsage]:
        sql = (
            "SELECT day, model_id, source, engine, COUNT(*), SUM(prompt_tokens),"
            " SUM(completion_tokens), SUM(duration_s), COALESCE(SUM(energy_j), 0),"
            " COALESCE(SUM(CASE WHEN energy_j IS NOT NULL"
            " THEN prompt_tokens + completion_tokens END), 0)"
            " FROM usage"
        )
        args: tuple[str, ...] = ()
        if since_day:
            sql += " WHERE day >= ?"
            args = (since_day,)
        sql += " GROUP BY day, model_id, source, engine ORDER BY day, model_id, source, engine"
        with self._lock:
            rows = self._db.execute(sql, args).fetchall()
        return [DailyUsage(*row) for row in rows]

    def close(self) -> None:
        with self._lock:
            self._db.close()
