"""Versions of messages (edits, regenerations), single deletes, and old chats as chains."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from app.backend.chats import ChatNotFoundError, ChatStore
from app.backend.chats.schema import MIGRATIONS


@pytest.fixture
def store(tmp_path: Path):
    with ChatStore(tmp_path / "chats.db") as s:
        yield s


def _texts(store: ChatStore, conv_id: int) -> list[str]:
    return [m.content for m in store.messages(conv_id)]


def test_regenerate_keeps_alternatives_and_switching_shows_each(store: ChatStore) -> None:
    conv = store.create_conversation()
    user = store.add_message(conv.id, "user", "hi")
    first = store.add_message(conv.id, "assistant", "reply one")
    second = store.begin_reply(conv.id, "m", parent_id=user.id)
    store.append_reply(second.id, "reply two")
    store.finish_reply(second.id, status="complete")
    shown = store.messages(conv.id)
    assert [m.content for m in shown] == ["hi", "reply two"]
    assert (shown[1].alternatives, shown[1].alternative_index) == (2, 1)
    store.select_alternative(first.id)
    shown = store.messages(conv.id)
    assert [m.content for m in shown] == ["hi", "reply one"]
    assert shown[1].alternative_index == 0
    assert store.alternative_ids(first.id) == [first.id, second.id]


def test_editing_a_user_message_branches_and_the_old_branch_stays(store: ChatStore) -> None:
    conv = store.create_conversation()
    q = store.add_message(conv.id, "user", "question")
    store.add_message(conv.id, "assistant", "old answer")
    store.add_message(conv.id, "user", "follow-up")
    edited = store.edit_message(q.id, "better question")
    assert _texts(store, conv.id) == ["better question"]
    store.add_message(conv.id, "assistant", "new answer")
    assert _texts(store, conv.id) == ["better question", "new answer"]
    store.select_alternative(q.id)
    assert _texts(store, conv.id) == ["question", "old answer", "follow-up"]
    store.select_alternative(edited.id)
    assert _texts(store, conv.id)[0] == "better question"


def test_deleting_one_message_keeps_what_follows(store: ChatStore) -> None:
    conv = store.create_conversation()
    store.add_message(conv.id, "user", "a")
    b = store.add_message(conv.id, "assistant", "b")
    store.add_message(conv.id, "user", "c")
    store.delete_message(b.id)
    assert _texts(store, conv.id) == ["a", "c"]
    store.add_message(conv.id, "assistant", "d")
    assert _texts(store, conv.id) == ["a", "c", "d"]
    with pytest.raises(ChatNotFoundError):
        store.delete_message(b.id)


def test_deleting_a_shown_version_shows_another(store: ChatStore) -> None:
    conv = store.create_conversation()
    u = store.add_message(conv.id, "user", "q")
    store.add_message(conv.id, "assistant", "r1")
    r2 = store.add_message(conv.id, "assistant", "r2", parent_id=u.id)
    store.delete_message(r2.id)
    assert _texts(store, conv.id) == ["q", "r1"]


def test_continue_reopens_a_finished_reply_and_appends(store: ChatStore) -> None:
    conv = store.create_conversation()
    store.add_message(conv.id, "user", "q")
    r = store.begin_reply(conv.id, "m")
    store.append_reply(r.id, "half")
    store.finish_reply(r.id, status="complete", stop_reason="max_tokens")
    store.reopen_reply(r.id)
    store.append_reply(r.id, " and the rest")
    store.finish_reply(r.id, status="complete", stop_reason="eos")
    m = store.get_message(r.id)
    assert m is not None and m.content == "half and the rest" and m.stop_reason == "eos"


def test_meta_and_attachments_are_kept(store: ChatStore) -> None:
    conv = store.create_conversation()
    u = store.add_message(conv.id, "user", "see file")
    store.add_attachment(u.id, "notes.txt", "text", 5, "hello")
    store.update_meta(u.id, citations=[{"name": "notes.txt", "text": "hello"}])
    [shown] = store.messages(conv.id)
    assert [a.name for a in shown.attachments] == ["notes.txt"]
    assert shown.meta["citations"][0]["text"] == "hello"


def test_v2_database_migrates_to_a_chain(tmp_path: Path) -> None:
    db = tmp_path / "chats.db"
    conn = sqlite3.connect(db, isolation_level=None)
    MIGRATIONS[0](conn)
    MIGRATIONS[1](conn)
    conn.execute("PRAGMA user_version = 2")
    conn.execute(
        "INSERT INTO conversations (title, created_at, updated_at) VALUES ('old', 1.0, 2.0)"
    )
    for i, role in enumerate(["user", "assistant", "user", "assistant"]):
        conn.execute(
            "INSERT INTO messages (conversation_id, role, content, status, created_at)"
            " VALUES (1, ?, ?, 'complete', ?)",
            (role, f"m{i}", float(i)),
        )
    conn.close()
    with ChatStore(db) as s:
        assert _texts(s, 1) == ["m0", "m1", "m2", "m3"]
        s.add_message(1, "user", "m4")
        assert _texts(s, 1)[-1] == "m4"
        [conv] = s.list_conversations()
        assert not conv.pinned and conv.folder_id is None
