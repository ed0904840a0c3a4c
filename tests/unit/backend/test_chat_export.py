"""Export to Markdown and JSON; import of our JSON (round trip) and LM Studio's files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.backend.chat_export import (
    ImportFormatError,
    import_chat,
    parse_import,
    to_json,
    to_markdown,
)
from app.backend.chats import ChatStore


@pytest.fixture
def store(tmp_path: Path):
    with ChatStore(tmp_path / "chats.db") as s:
        yield s


def _chat(store: ChatStore) -> int:
    conv = store.create_conversation("Trip", system_prompt="Be brief.")
    u = store.add_message(conv.id, "user", "Where to?")
    store.add_attachment(u.id, "plan.txt", "text", 4, "Rome")
    store.add_message(conv.id, "assistant", "<think>hmm</think>Rome.")
    store.add_message(conv.id, "assistant", "Paris.", parent_id=u.id)
    return conv.id


def test_markdown_has_roles_reasoning_and_attachments(store: ChatStore) -> None:
    conv_id = _chat(store)
    conv = store.get_conversation(conv_id)
    assert conv is not None
    md = to_markdown(conv, store.messages(conv_id))
    assert md.startswith("# Trip") and "> Be brief." in md
    assert "## You" in md and "Paris." in md and "Rome." not in md  # the shown version
    assert "*Attached: plan.txt*" in md


def test_json_round_trip_keeps_versions_and_what_is_shown(store: ChatStore) -> None:
    conv_id = _chat(store)
    conv = store.get_conversation(conv_id)
    assert conv is not None
    shown = [m.id for m in store.messages(conv_id)]
    everything = store.all_messages(conv_id)
    for m in everything:
        m.attachments = store.get_message(m.id).attachments  # type: ignore[union-attr]
    text = to_json(conv, everything, shown)
    copy = import_chat(store, parse_import(text.encode()))
    again = store.messages(copy.id)
    assert [m.content for m in again] == ["Where to?", "Paris."]
    assert again[1].alternatives == 2
    assert again[0].attachments[0].text == "Rome"
    assert store.get_conversation(copy.id).system_prompt == "Be brief."  # type: ignore[union-attr]


def test_lm_studio_conversation_is_imported() -> None:
    data = {
        "name": "From LM Studio",
        "perChatPredictionConfig": {
            "fields": [{"key": "llm.prediction.systemPrompt", "value": "You are kind."}]
        },
        "messages": [
            {
                "versions": [{"role": "user", "content": [{"type": "text", "text": "Hi"}]}],
                "currentlySelected": 0,
            },
            {
                "versions": [
                    {
                        "type": "multiStep",
                        "role": "assistant",
                        "steps": [
                            {"type": "contentBlock", "content": [{"type": "text", "text": "One"}]}
                        ],
                    },
                    {
                        "type": "multiStep",
                        "role": "assistant",
                        "steps": [
                            {"type": "contentBlock", "content": [{"type": "text", "text": "Two"}]}
                        ],
                    },
                ],
                "currentlySelected": 1,
            },
            {
                "versions": [{"role": "user", "content": [{"type": "text", "text": "More"}]}],
                "currentlySelected": 0,
            },
        ],
    }
    chat = parse_import(json.dumps(data).encode(), "chat.json")
    assert chat.title == "From LM Studio" and chat.system_prompt == "You are kind."
    assert [(m.content, m.selected) for m in chat.messages] == [
        ("Hi", True),
        ("One", False),
        ("Two", True),
        ("More", True),
    ]
    assert chat.messages[3].parent_key == chat.messages[2].key


def test_lm_studio_import_lands_in_the_store(store: ChatStore) -> None:
    data = {
        "name": "x",
        "messages": [
            {"versions": [{"role": "user", "content": "q"}], "currentlySelected": 0},
            {
                "versions": [
                    {"role": "assistant", "content": "a1"},
                    {"role": "assistant", "content": "a2"},
                ],
                "currentlySelected": 0,
            },
        ],
    }
    conv = import_chat(store, parse_import(json.dumps(data).encode()))
    assert [m.content for m in store.messages(conv.id)] == ["q", "a1"]


@pytest.mark.parametrize(
    ("raw", "needle"),
    [
        (b"\xff\xfe garbage", "not a JSON"),
        (b"[1, 2]", "expected a JSON object"),
        (b'{"hello": 1}', "neither"),
        (
            b'{"format": "hearth.chat", "version": 1, "messages": [{"id": 1, "role": "robot"}]}',
            "damaged",
        ),
        (b'{"format": "hearth.chat", "version": 1, "messages": 5}', "damaged"),
    ],
)
def test_malformed_files_say_why(raw: bytes, needle: str) -> None:
    with pytest.raises(ImportFormatError, match=needle):
        parse_import(raw, "chat.json")
