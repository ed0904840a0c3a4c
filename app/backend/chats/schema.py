"""Chat database schema: an ordered list of migrations keyed by ``PRAGMA user_version``.

``MIGRATIONS[i]`` takes a database from version ``i`` to ``i + 1``. Never edit a shipped
migration; append a new one. Each migration runs in its own transaction together with the
``user_version`` bump, so a crash mid-migration leaves the previous version intact. Before
migrating a database that already holds data, a full copy is taken with SQLite's backup API.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable, Sequence
from pathlib import Path

log = logging.getLogger(__name__)

Migration = Callable[[sqlite3.Connection], None]


def _v0_to_v1(conn: sqlite3.Connection) -> None:
    """Initial schema: conversations and their messages."""
    conn.execute(
        """
        CREATE TABLE conversations (
            id            INTEGER PRIMARY KEY AUTOINCREMENT,
            title         TEXT    NOT NULL,
            created_at    REAL    NOT NULL,
            updated_at    REAL    NOT NULL,
            system_prompt TEXT    NOT NULL DEFAULT '',
            sampling_json TEXT    NOT NULL DEFAULT '{}',
            model_id      TEXT
        )
        """
    )
    conn.execute(
        """
        CREATE TABLE messages (
            id              INTEGER PRIMARY KEY AUTOINCREMENT,
            conversation_id INTEGER NOT NULL
                            REFERENCES conversations(id) ON DELETE CASCADE,
            role            TEXT    NOT NULL CHECK (role IN ('system', 'user', 'assistant')),
            content         TEXT    NOT NULL DEFAULT '',
            status          TEXT    NOT NULL CHECK (status IN
                                ('complete', 'streaming', 'interrupted', 'error', 'cancelled')),
            created_at      REAL    NOT NULL,
            model_id        TEXT
        )
        """
    )
    conn.execute("CREATE INDEX messages_by_conversation ON messages(conversation_id, id)")


def _v1_to_v2(conn: sqlite3.Connection) -> None:
    """Generation metadata on replies, and a cheap lookup of replies left streaming by a crash."""
    conn.execute("ALTER TABLE messages ADD COLUMN stats_json TEXT")
    conn.execute("ALTER TABLE messages ADD COLUMN stop_reason TEXT")
    conn.execute("ALTER TABLE messages ADD COLUMN error TEXT")
    conn.execute("CREATE INDEX messages_streaming ON messages(status) WHERE status = 'streaming'")


def _v2_to_v3(conn: sqlite3.Connection) -> None:
    """Branches, folders, pins, trash, per-chat options, presets and attachments.

    Messages become a tree (``parent_id``) so edits and regenerations keep the alternatives;
    ``selected`` marks the version shown among siblings. Existing chats become a single
    chain: each message's parent is the one before it.
    """
    conn.execute("ALTER TABLE messages ADD COLUMN parent_id INTEGER")
    conn.execute("ALTER TABLE messages ADD COLUMN selected INTEGER NOT NULL DEFAULT 1")
    conn.execute("ALTER TABLE messages ADD COLUMN meta_json TEXT")
    conn.execute(
        "UPDATE messages SET parent_id = (SELECT max(p.id) FROM messages p"
        " WHERE p.conversation_id = messages.conversation_id AND p.id < messages.id)"
    )
    conn.execute("CREATE INDEX messages_by_parent ON messages(conversation_id, parent_id)")
    conn.execute(
        "CREATE TABLE folders (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL,"
        " created_at REAL NOT NULL)"
    )
    conn.execute(
        "ALTER TABLE conversations ADD COLUMN folder_id INTEGER"
        " REFERENCES folders(id) ON DELETE SET NULL"
    )
    conn.execute("ALTER TABLE conversations ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0")
    conn.execute("ALTER TABLE conversations ADD COLUMN deleted_at REAL")
    conn.execute("ALTER TABLE conversations ADD COLUMN options_json TEXT NOT NULL DEFAULT '{}'")
    conn.execute(
        """
        CREATE TABLE presets (
            id            INTEGER PRIMARY KEY AUTOINCREMENT,
            name          TEXT    NOT NULL UNIQUE,
            system_prompt TEXT    NOT NULL DEFAULT '',
            sampling_json TEXT    NOT NULL DEFAULT '{}',
            options_json  TEXT    NOT NULL DEFAULT '{}',
            updated_at    REAL    NOT NULL
        )
        """
    )
    conn.execute(
        "CREATE TABLE model_presets (model_id TEXT PRIMARY KEY,"
        " preset_id INTEGER NOT NULL REFERENCES presets(id) ON DELETE CASCADE)"
    )
    conn.execute(
        """
        CREATE TABLE attachments (
            id         INTEGER PRIMARY KEY AUTOINCREMENT,
            message_id INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
            name       TEXT    NOT NULL,
            kind       TEXT    NOT NULL,
            size       INTEGER NOT NULL,
            text       TEXT    NOT NULL
        )
        """
    )
    conn.execute("CREATE INDEX attachments_by_message ON attachments(message_id)")


MIGRATIONS: Sequence[Migration] = (_v0_to_v1, _v1_to_v2, _v2_to_v3)
SCHEMA_VERSION = len(MIGRATIONS)


class SchemaTooNewError(Exception):
    """The database was written by a newer Hearth; opening it could lose data."""


def user_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def _has_tables(conn: sqlite3.Connection) -> bool:
    row = conn.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone()
    return bool(row[0])


def backup_path_for(db_path: Path, old_version: int) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    candidate = db_path.with_name(f"{db_path.name}.bak-v{old_version}-{stamp}")
    n = 1
    while candidate.exists():  # two migrations within one second (tests, retries)
        candidate = db_path.with_name(f"{db_path.name}.bak-v{old_version}-{stamp}-{n}")
        n += 1
    return candidate


def backup(conn: sqlite3.Connection, dest: Path) -> None:
    """Consistent online copy of the whole database (WAL content included)."""
    target = sqlite3.connect(dest)
    try:
        conn.backup(target)
    finally:
        target.close()


def migrate(
    conn: sqlite3.Connection,
    db_path: Path,
    migrations: Sequence[Migration] = MIGRATIONS,
) -> Path | None:
    """Bring the database to ``len(migrations)``; returns the backup taken, if any.

    ``conn`` must be in autocommit mode (``isolation_level=None``): transactions are explicit.
    """
    target = len(migrations)
    current = user_version(conn)
    if current > target:
        raise SchemaTooNewError(
            f"chat database is at schema version {current}, this Hearth knows up to {target}"
        )
    if current == target:
        return None
    backup_file: Path | None = None
    if current > 0 or _has_tables(conn):
        backup_file = backup_path_for(db_path, current)
        backup(conn, backup_file)
        log.info("Backed up chat database (v%d) to %s before migrating", current, backup_file)
    for version in range(current, target):
        conn.execute("BEGIN IMMEDIATE")
        try:
            migrations[version](conn)
            conn.execute(f"PRAGMA user_version = {version + 1}")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        log.info("Migrated chat database to v%d", version + 1)
    return backup_file
