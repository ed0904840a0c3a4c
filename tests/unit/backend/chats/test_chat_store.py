"""ChatStore: CRUD, persistence across reopen, streaming replies, recovery, threads."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from app.backend.chats import ChatNotFoundError, ChatStore
from app.backend.engine.types import GenerationStats, SamplingParams


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "chats.db"


@pytest.fixture
def store(db: Path):
    s = ChatStore(db)
    yield s
    s.close()


def test_pragmas(store: ChatStore) -> None:
    conn = store._conn
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
    assert store.integrity_check() == "ok"


def test_conversation_crud(store: ChatStore) -> None:
    assert store.list_conversations() == []
    a = store.create_conversation()
    b = store.create_conversation(
        "Second", system_prompt="Be brief.", sampling=SamplingParams(temperature=0.2), model_id="m1"
    )
    assert a.title == "New chat" and a.sampling == SamplingParams() and a.model_id is None
    assert store.get_conversation(b.id) == b
    assert store.get_conversation(9999) is None

    store.rename_conversation(a.id, "Renamed")
    # Most recently touched first.
    assert [c.id for c in store.list_conversations()] == [a.id, b.id]
    assert store.get_conversation(a.id).title == "Renamed"  # type: ignore[union-attr]

    store.update_conversation_settings(b.id, sampling=SamplingParams(top_k=5, stop=["###"]))
    got = store.get_conversation(b.id)
    assert got is not None
    assert got.sampling.top_k == 5 and got.sampling.stop == ["###"]
    assert got.system_prompt == "Be brief." and got.model_id == "m1"  # untouched
    store.update_conversation_settings(b.id, model_id=None, system_prompt="")
    got = store.get_conversation(b.id)
    assert got is not None and got.model_id is None and got.system_prompt == ""

    with pytest.raises(ChatNotFoundError):
        store.rename_conversation(9999, "x")
    assert isinstance(ChatNotFoundError("x"), LookupError)

    assert store.delete_conversation(a.id) is True
    assert store.delete_conversation(a.id) is False
    assert [c.id for c in store.list_conversations()] == [b.id]


def test_delete_conversation_cascades(store: ChatStore) -> None:
    c = store.create_conversation()
    store.add_message(c.id, "user", "hi")
    store.add_message(c.id, "assistant", "hello")
    store.delete_conversation(c.id)
    assert store._conn.execute("SELECT count(*) FROM messages").fetchone()[0] == 0


def test_messages_and_validation(store: ChatStore) -> None:
    c = store.create_conversation()
    s = store.add_message(c.id, "system", "sys")
    u = store.add_message(c.id, "user", "hi", model_id=None)
    assert [m.id for m in store.messages(c.id)] == [s.id, u.id]
    assert store.messages(c.id)[1] == u
    with pytest.raises(ValueError):
        store.add_message(c.id, "robot", "x")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        store.add_message(c.id, "user", "x", status="weird")  # type: ignore[arg-type]
    with pytest.raises(ChatNotFoundError):
        store.add_message(12345, "user", "orphan")
    assert len(store.messages(c.id)) == 2


def test_streaming_reply_lifecycle(store: ChatStore) -> None:
    c = store.create_conversation()
    store.add_message(c.id, "user", "Tell me a story")
    r = store.begin_reply(c.id, "gemma")
    assert r.status == "streaming" and r.content == "" and r.role == "assistant"
    for chunk in ("Once", " upon", " a time"):
        store.append_reply(r.id, chunk)
    store.append_reply(r.id, "")  # no-op
    partial = store.get_message(r.id)
    assert partial is not None and partial.content == "Once upon a time"
    assert partial.status == "streaming"

    stats = GenerationStats(prompt_tokens=5, completion_tokens=4, tokens_per_second=12.5)
    store.finish_reply(r.id, status="complete", stats=stats, stop_reason="eos")
    done = store.get_message(r.id)
    assert done is not None
    assert (done.status, done.stats, done.stop_reason, done.model_id) == (
        "complete",
        stats,
        "eos",
        "gemma",
    )
    assert done.content == "Once upon a time"
    with pytest.raises(ChatNotFoundError):
        store.append_reply(r.id, "late chunk")
    with pytest.raises(ChatNotFoundError):
        store.finish_reply(r.id, status="complete")
    with pytest.raises(ValueError):
        store.finish_reply(r.id, status="streaming")


def test_finish_reply_error_and_final_text(store: ChatStore) -> None:
    c = store.create_conversation()
    r = store.begin_reply(c.id, None)
    store.append_reply(r.id, "partial")
    store.finish_reply(r.id, status="error", error="engine crashed", stop_reason="error")
    m = store.get_message(r.id)
    assert m is not None
    assert (m.status, m.error, m.content) == ("error", "engine crashed", "partial")
    r2 = store.begin_reply(c.id, None)
    store.append_reply(r2.id, "raw <think>")
    store.finish_reply(r2.id, status="cancelled", final_text="cleaned")
    m2 = store.get_message(r2.id)
    assert m2 is not None and (m2.status, m2.content, m2.stats) == ("cancelled", "cleaned", None)


def test_delete_messages_from(store: ChatStore) -> None:
    c = store.create_conversation()
    other = store.create_conversation()
    u1 = store.add_message(c.id, "user", "q1")
    a1 = store.add_message(c.id, "assistant", "a1")
    store.add_message(c.id, "user", "q2")
    store.add_message(c.id, "assistant", "a2")
    keep = store.add_message(other.id, "user", "other chat")
    assert store.delete_messages_from(a1.id) == 3
    assert [m.id for m in store.messages(c.id)] == [u1.id]
    assert [m.id for m in store.messages(other.id)] == [keep.id]
    # Ids are never reused, so a stale id held by the UI cannot hit a new message.
    again = store.add_message(c.id, "assistant", "regenerated")
    assert again.id > a1.id
    with pytest.raises(ChatNotFoundError):
        store.delete_messages_from(a1.id)


def test_persistence_across_restart(db: Path) -> None:
    with ChatStore(db) as s:
        c = s.create_conversation("Persisted", system_prompt="sp", model_id="m")
        s.add_message(c.id, "user", "héllo ✓")
        r = s.begin_reply(c.id, "m")
        s.append_reply(r.id, "partial answer")
        done = s.begin_reply(c.id, "m")
        s.finish_reply(done.id, status="complete", stats=GenerationStats(completion_tokens=3))
    with ChatStore(db) as s2:
        [conv] = s2.list_conversations()
        assert (conv.title, conv.system_prompt, conv.model_id) == ("Persisted", "sp", "m")
        msgs = s2.messages(c.id)
        assert [m.content for m in msgs] == ["héllo ✓", "partial answer", ""]
        # The reply left streaming at "shutdown" is recovered as interrupted with its text.
        assert [m.status for m in msgs] == ["complete", "interrupted", "complete"]
        assert msgs[2].stats == GenerationStats(completion_tokens=3)
        assert s2.recover_interrupted() == 0


def test_recover_interrupted_counts(db: Path) -> None:
    s = ChatStore(db)
    c = s.create_conversation()
    s.begin_reply(c.id, None)
    s.begin_reply(c.id, None)
    s._conn.close()  # simulate a crash: no orderly shutdown
    s2 = ChatStore(db)
    assert [m.status for m in s2.messages(c.id)] == ["interrupted", "interrupted"]
    s2.close()


def test_threads_share_one_store(store: ChatStore) -> None:
    c = store.create_conversation()
    replies = [store.begin_reply(c.id, None) for _ in range(4)]
    errors: list[BaseException] = []

    def worker(msg_id: int) -> None:
        try:
            for i in range(50):
                store.append_reply(msg_id, f"{i},")
                store.list_conversations()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(r.id,)) for r in replies]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    expected = "".join(f"{i}," for i in range(50))
    assert all(m.content == expected for m in store.messages(c.id))


def test_newer_schema_refused(db: Path) -> None:
    ChatStore(db).close()
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    with pytest.raises(Exception, match="newer version of Hearth"):
        ChatStore(db)


def test_not_a_database(tmp_path: Path) -> None:
    bad = tmp_path / "chats.db"
    bad.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(Exception, match="damaged"):
        ChatStore(bad)
