"""Schema versioning: fresh databases, migration from older versions, backups."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from app.backend.chats import SCHEMA_VERSION, ChatStore
from app.backend.chats.schema import MIGRATIONS, migrate, user_version


def _make_v1(path: Path) -> None:
    """A database as the first release wrote it, with one chat in it."""
    conn = sqlite3.connect(path, isolation_level=None)
    MIGRATIONS[0](conn)
    conn.execute("PRAGMA user_version = 1")
    conn.execute(
        "INSERT INTO conversations (title, created_at, updated_at, sampling_json)"
        " VALUES ('Old chat', 1.0, 2.0, '{\"temperature\": 0.3}')"
    )
    conn.execute(
        "INSERT INTO messages (conversation_id, role, content, status, created_at)"
        " VALUES (1, 'user', 'hello from v1', 'complete', 1.5)"
    )
    conn.execute(
        "INSERT INTO messages (conversation_id, role, content, status, created_at)"
        " VALUES (1, 'assistant', 'half a rep', 'streaming', 1.6)"
    )
    conn.close()


def _backups(tmp_path: Path) -> list[Path]:
    return sorted(tmp_path.glob("chats.db.bak-*"))


def test_fresh_database_needs_no_backup(tmp_path: Path) -> None:
    with ChatStore(tmp_path / "chats.db") as s:
        assert s.last_backup is None
        assert user_version(s._conn) == SCHEMA_VERSION == len(MIGRATIONS)
    assert _backups(tmp_path) == []


def test_migrate_v1_keeps_data_and_backs_up(tmp_path: Path) -> None:
    db = tmp_path / "chats.db"
    _make_v1(db)
    with ChatStore(db) as s:
        assert s.last_backup is not None
        assert s.last_backup.name.startswith("chats.db.bak-v1-")
        [conv] = s.list_conversations()
        assert conv.title == "Old chat" and conv.sampling.temperature == 0.3
        msgs = s.messages(conv.id)
        assert [m.content for m in msgs] == ["hello from v1", "half a rep"]
        assert msgs[1].status == "interrupted"
        assert msgs[0].stats is None and msgs[0].stop_reason is None
        # v2 columns work.
        r = s.begin_reply(conv.id, "m")
        s.finish_reply(r.id, status="complete", stop_reason="eos")
        assert s.get_message(r.id).stop_reason == "eos"  # type: ignore[union-attr]
    [bak] = _backups(tmp_path)
    # The backup is a faithful v1 database, untouched by the migration or recovery.
    conn = sqlite3.connect(bak)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    rows = conn.execute("SELECT content, status FROM messages ORDER BY id").fetchall()
    assert rows == [("hello from v1", "complete"), ("half a rep", "streaming")]
    cols = {r[1] for r in conn.execute("PRAGMA table_info(messages)")}
    assert "stats_json" not in cols
    conn.close()
    # Reopening an up-to-date database does not back up again.
    ChatStore(db).close()
    assert len(_backups(tmp_path)) == 1


def test_v0_database_with_foreign_content_is_backed_up(tmp_path: Path) -> None:
    """A pre-versioning (user_version 0) file with tables in it still gets a backup."""
    db = tmp_path / "chats.db"
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE scratch (x)")
    conn.execute("INSERT INTO scratch VALUES (42)")
    conn.commit()
    conn.close()
    with ChatStore(db) as s:
        assert s.last_backup is not None and s.last_backup.name.startswith("chats.db.bak-v0-")
    bak = sqlite3.connect(_backups(tmp_path)[0])
    assert bak.execute("SELECT x FROM scratch").fetchall() == [(42,)]
    bak.close()


def test_failed_migration_rolls_back_to_previous_version(tmp_path: Path) -> None:
    db = tmp_path / "chats.db"
    _make_v1(db)

    def broken(conn: sqlite3.Connection) -> None:
        conn.execute("ALTER TABLE messages ADD COLUMN half_done TEXT")
        raise RuntimeError("bug in migration")

    conn = sqlite3.connect(db, isolation_level=None)
    with pytest.raises(RuntimeError):
        migrate(conn, db, [MIGRATIONS[0], broken])
    assert user_version(conn) == 1
    cols = {r[1] for r in conn.execute("PRAGMA table_info(messages)")}
    assert "half_done" not in cols
    conn.close()
    assert len(_backups(tmp_path)) == 1
    # The real migration still applies afterwards.
    with ChatStore(db) as s:
        assert len(s.messages(1)) == 2
