"""Running out of space: a clear error, the previous state intact, and a usable store after.

Two faithful ways to hit SQLITE_FULL without mocking: SQLite's own ``max_page_count`` limit
(works everywhere), and a real tiny tmpfs filled to the brim (only where we may mount).
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.backend.chats import ChatStore, ChatStoreError

BIG = "x" * 200_000  # far more than any free space left in the tests below


def _snapshot(store: ChatStore, conv_id: int) -> list[tuple[int, str, str]]:
    return [(m.id, m.content, m.status) for m in store.messages(conv_id)]


def _set_max_pages(store: ChatStore, pages: int) -> None:
    with store._lock:
        store._conn.execute(f"PRAGMA max_page_count = {pages}")


def _current_pages(store: ChatStore) -> int:
    with store._lock:
        return int(store._conn.execute("PRAGMA page_count").fetchone()[0])


def _assert_full_error(exc: ChatStoreError) -> None:
    assert str(exc).startswith("Could not save the chat: the disk is full")
    assert exc.sqlite_error == "SQLITE_FULL"


def test_page_limit_full_disk(tmp_path: Path) -> None:
    store = ChatStore(tmp_path / "chats.db")
    conv = store.create_conversation("Before")
    store.add_message(conv.id, "user", "question")
    reply = store.begin_reply(conv.id, "m")
    store.append_reply(reply.id, "partial")
    before = _snapshot(store, conv.id)
    titles_before = [c.title for c in store.list_conversations()]

    _set_max_pages(store, _current_pages(store))
    with pytest.raises(ChatStoreError) as info:
        store.add_message(conv.id, "user", BIG)
    _assert_full_error(info.value)
    with pytest.raises(ChatStoreError) as info:
        store.append_reply(reply.id, BIG)
    _assert_full_error(info.value)
    with pytest.raises(ChatStoreError):
        store.create_conversation("x" * 100_000)

    # Nothing half-written; reads still work while full.
    assert _snapshot(store, conv.id) == before
    assert [c.title for c in store.list_conversations()] == titles_before
    assert not store._conn.in_transaction

    # Space frees up: the same store carries on, no reopen needed.
    _set_max_pages(store, 1_000_000)
    store.append_reply(reply.id, " and more")
    store.finish_reply(reply.id, status="complete")
    store.add_message(conv.id, "user", BIG)
    assert store.messages(conv.id)[1].content == "partial and more"
    assert store.integrity_check() == "ok"
    store.close()

    with ChatStore(tmp_path / "chats.db") as reopened:
        statuses = [m.status for m in reopened.messages(conv.id)]
        assert statuses == ["complete", "complete", "complete"]


def _can_mount() -> bool:
    return sys.platform.startswith("linux") and hasattr(os, "geteuid") and os.geteuid() == 0


@pytest.fixture
def tiny_tmpfs(tmp_path: Path) -> Iterator[Path]:
    if not _can_mount() or shutil.which("mount") is None:
        pytest.skip("needs root on Linux to mount a tmpfs")
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    proc = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mnt)],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        pytest.skip(f"mounting a tmpfs is not permitted here: {proc.stderr.strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def _fill(path: Path) -> None:
    """Write until the filesystem says ENOSPC."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        while True:
            os.write(fd, b"\0" * 4096)
    except OSError as exc:
        assert exc.errno == errno.ENOSPC
    finally:
        os.close(fd)


def test_real_full_filesystem(tiny_tmpfs: Path) -> None:
    db = tiny_tmpfs / "chats.db"
    store = ChatStore(db)
    conv = store.create_conversation("On a tiny disk")
    store.add_message(conv.id, "user", "hello")
    reply = store.begin_reply(conv.id, "m")
    store.append_reply(reply.id, "streamed so far")
    before = _snapshot(store, conv.id)

    filler = tiny_tmpfs / "filler"
    _fill(filler)
    with pytest.raises(ChatStoreError) as info:
        store.append_reply(reply.id, BIG)
    _assert_full_error(info.value)
    with pytest.raises(ChatStoreError) as info:
        store.add_message(conv.id, "user", BIG)
    _assert_full_error(info.value)
    assert _snapshot(store, conv.id) == before

    filler.unlink()
    store.append_reply(reply.id, "!")
    store.finish_reply(reply.id, status="complete")
    assert store.messages(conv.id)[1].content == "streamed so far!"
    assert store.integrity_check() == "ok"
    store.close()
    with ChatStore(db) as reopened:
        assert [m.content for m in reopened.messages(conv.id)] == ["hello", "streamed so far!"]
        assert reopened.integrity_check() == "ok"


def test_open_on_full_disk_after_crash(tiny_tmpfs: Path) -> None:
    """A SIGKILLed run left a reply streaming and the disk is now full: chats must still open."""
    db = tiny_tmpfs / "chats.db"
    repo = Path(__file__).resolve().parents[4]
    writer = subprocess.Popen(
        [sys.executable, str(repo / "tests" / "helpers" / "chat_writer.py"), str(db), "5"],
        stdout=subprocess.PIPE,
        env=dict(os.environ, PYTHONPATH=str(repo)),
        text=True,
    )
    assert writer.stdout is not None
    reply_lines = 0
    for line in writer.stdout:  # wait for a few committed chunks of the reply
        reply_lines += line.startswith("committed")
        if reply_lines >= 5:
            break
    writer.kill()
    writer.communicate(timeout=30)
    filler = tiny_tmpfs / "filler"
    _fill(filler)
    # Recovery may not fit in the last free bytes; opening and reading must work regardless.
    with ChatStore(db) as reopened:
        [conv] = reopened.list_conversations()
        msgs = reopened.messages(conv.id)
        assert [m.role for m in msgs] == ["user", "assistant"]
        assert msgs[1].content.startswith("[0][1][2]")
        with pytest.raises(ChatStoreError, match="disk is full"):
            reopened.add_message(conv.id, "user", BIG)
    filler.unlink()
    with ChatStore(db) as recovered:
        assert recovered.messages(conv.id)[1].status == "interrupted"
        assert recovered.integrity_check() == "ok"


def test_io_error_on_full_disk_reads_as_full(tiny_tmpfs: Path) -> None:
    """Without a WAL index left behind, opening needs space SQLite reports as an I/O error."""
    db = tiny_tmpfs / "chats.db"
    ChatStore(db).close()
    _fill(tiny_tmpfs / "filler")
    with pytest.raises(ChatStoreError, match="Could not open the chats: the disk is full"):
        ChatStore(db)
