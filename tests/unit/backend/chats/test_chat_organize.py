"""Search, folders, pins, trash, duplicate and presets."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.backend.chats import ChatStore, ConversationOptions
from app.backend.engine.types import SamplingParams


@pytest.fixture
def store(tmp_path: Path):
    with ChatStore(tmp_path / "chats.db") as s:
        yield s


def test_search_finds_titles_and_contents_not_trash(store: ChatStore) -> None:
    a = store.create_conversation("Rust lifetimes")
    b = store.create_conversation("Dinner")
    store.add_message(b.id, "user", "How long do I roast a chicken? About 100% of the time")
    c = store.create_conversation("Gone")
    store.add_message(c.id, "user", "chicken soup")
    store.trash_conversation(c.id)
    assert [h.conversation_id for h in store.search("rust")] == [a.id]
    [hit] = store.search("CHICKEN")
    assert hit.conversation_id == b.id and "chicken" in hit.snippet
    assert [h.conversation_id for h in store.search("100%")] == [b.id]
    assert store.search("_") == []  # LIKE wildcards are literal
    assert store.search("   ") == []


def test_trash_restore_and_empty(store: ChatStore) -> None:
    conv = store.create_conversation("keep")
    store.add_message(conv.id, "user", "hi")
    store.trash_conversation(conv.id)
    assert store.list_conversations() == []
    assert [c.id for c in store.list_trash()] == [conv.id]
    store.restore_conversation(conv.id)
    assert [c.id for c in store.list_conversations()] == [conv.id]
    store.trash_conversation(conv.id)
    assert store.empty_trash() == 1
    assert store.list_trash() == [] and store.get_conversation(conv.id) is None


def test_pinned_first_and_folders(store: ChatStore) -> None:
    old = store.create_conversation("old")
    store.create_conversation("new")
    store.set_pinned(old.id, True)
    assert [c.title for c in store.list_conversations()] == ["old", "new"]
    folder = store.create_folder("Work")
    store.move_to_folder(old.id, folder.id)
    assert store.get_conversation(old.id).folder_id == folder.id  # type: ignore[union-attr]
    store.rename_folder(folder.id, "Job")
    assert [f.name for f in store.list_folders()] == ["Job"]
    store.delete_folder(folder.id)
    assert store.get_conversation(old.id).folder_id is None  # type: ignore[union-attr]


def test_duplicate_copies_every_version_and_attachment(store: ChatStore) -> None:
    conv = store.create_conversation("orig", system_prompt="be brief")
    u = store.add_message(conv.id, "user", "q")
    store.add_attachment(u.id, "a.txt", "text", 1, "x")
    store.add_message(conv.id, "assistant", "r1")
    store.add_message(conv.id, "assistant", "r2", parent_id=u.id)
    copy = store.duplicate_conversation(conv.id)
    assert copy.title == "orig (copy)" and copy.system_prompt == "be brief"
    shown = store.messages(copy.id)
    assert [m.content for m in shown] == ["q", "r2"]
    assert shown[1].alternatives == 2
    assert shown[0].attachments[0].text == "x"
    assert len(store.all_messages(copy.id)) == 3


def test_options_and_presets_with_a_default_per_model(store: ChatStore) -> None:
    conv = store.create_conversation()
    options = ConversationOptions("stop", '{"type": "object"}')
    store.update_conversation_settings(conv.id, options=options)
    assert store.get_conversation(conv.id).options == options  # type: ignore[union-attr]
    p = store.save_preset("Terse", "Answer in one line.", SamplingParams(temperature=0.2))
    again = store.save_preset("Terse", "One line.", SamplingParams(temperature=0.3))
    assert again.id == p.id and [x.system_prompt for x in store.list_presets()] == ["One line."]
    store.set_model_default_preset("acme/m/Q4", p.id)
    default = store.default_preset_for("acme/m/Q4")
    assert default is not None and default.sampling.temperature == 0.3
    store.delete_preset(p.id)
    assert store.default_preset_for("acme/m/Q4") is None
