"""Chats out and in: Markdown and JSON export; import of our JSON and LM Studio's files.

Our JSON keeps everything (every version of every message, which ones are shown, stats,
attachments), so export then import gives the same chat. LM Studio's conversation files
(``~/.lmstudio/conversations/*.json``) hold ``name``, ``messages[].versions[]`` with
``currentlySelected``, and content as ``[{"type": "text", "text": …}]`` or, for replies,
``type: "multiStep"`` with ``steps[].content``; the system prompt sits in
``perChatPredictionConfig.fields`` under ``llm.prediction.systemPrompt`` (format as read by
public converters of those files; only text is imported).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from app.backend.chats import ChatStore, Conversation, ConversationOptions, Message
from app.backend.engine.types import GenerationStats, SamplingParams
from app.backend.reasoning import split_reasoning

FORMAT = "hearth.chat"
VERSION = 1
MAX_IMPORT_BYTES = 200 * 1024 * 1024


class ImportFormatError(ValueError):
    """The file is not a chat Hearth can import; ``str()`` says why."""


@dataclass
class ImportedMessage:
    key: str
    parent_key: str | None
    role: str
    content: str
    status: str = "complete"
    selected: bool = True
    stats: dict[str, Any] | None = None
    stop_reason: str | None = None
    model_id: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    attachments: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class ImportedChat:
    title: str
    system_prompt: str = ""
    sampling: dict[str, Any] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    messages: list[ImportedMessage] = field(default_factory=list)


# -- export -----------------------------------------------------------------------------


def to_markdown(conversation: Conversation, messages: list[Message]) -> str:
    """The shown conversation as a readable Markdown document."""
    lines = [f"# {conversation.title}", ""]
    if conversation.system_prompt.strip():
        lines += ["**System prompt:**", "", _quote(conversation.system_prompt), ""]
    for message in messages:
        if message.role == "system":
            continue
        who = "You" if message.role == "user" else "Assistant"
        if message.role == "assistant" and message.model_id:
            who += f" ({message.model_id})"
        lines += [f"## {who}", ""]
        split = split_reasoning(message.content) if message.role == "assistant" else None
        if split is not None and split.has_reasoning:
            lines += [
                "<details><summary>Reasoning</summary>",
                "",
                split.reasoning,
                "",
                "</details>",
                "",
            ]
            lines += [split.answer.strip(), ""]
        else:
            lines += [message.content.strip(), ""]
        for attachment in message.attachments:
            lines += [f"*Attached: {attachment.name}*", ""]
        if message.status not in ("complete", "streaming"):
            lines += [f"*({message.status})*", ""]
    return "\n".join(lines).rstrip() + "\n"


def _quote(text: str) -> str:
    return "\n".join("> " + line for line in text.splitlines())


def to_json(conversation: Conversation, messages: list[Message], shown: list[int]) -> str:
    """Everything about a chat: ``messages`` is every version, ``shown`` the path shown."""
    shown_ids = set(shown)
    data = {
        "format": FORMAT,
        "version": VERSION,
        "title": conversation.title,
        "created_at": conversation.created_at,
        "system_prompt": conversation.system_prompt,
        "sampling": conversation.sampling.to_dict(),
        "options": conversation.options.to_dict(),
        "model_id": conversation.model_id,
        "messages": [
            {
                "id": m.id,
                "parent_id": m.parent_id,
                "selected": m.id in shown_ids,
                "role": m.role,
                "content": m.content,
                "status": m.status,
                "created_at": m.created_at,
                "model_id": m.model_id,
                "stats": m.stats.to_dict() if m.stats else None,
                "stop_reason": m.stop_reason,
                "meta": m.meta,
                "attachments": [
                    {"name": a.name, "kind": a.kind, "size": a.size, "text": a.text}
                    for a in m.attachments
                ],
            }
            for m in messages
        ],
    }
    return json.dumps(data, ensure_ascii=False, indent=1)


# -- import -----------------------------------------------------------------------------


def parse_import(raw: bytes, name: str = "the file") -> ImportedChat:
    """Read our JSON or an LM Studio conversation; raise ``ImportFormatError`` otherwise."""
    if len(raw) > MAX_IMPORT_BYTES:
        raise ImportFormatError(f"{name} is too large to be a chat file.")
    try:
        data = json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ImportFormatError(f"{name} is not a JSON chat file ({exc}).") from exc
    if not isinstance(data, dict):
        raise ImportFormatError(f"{name} does not hold a chat (expected a JSON object).")
    try:
        if data.get("format") == FORMAT:
            return _from_ours(data)
        if (
            isinstance(data.get("messages"), list)
            and any(isinstance(m, dict) and "versions" in m for m in data["messages"])
        ) or ("name" in data and isinstance(data.get("messages"), list)):
            return _from_lmstudio(data)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ImportFormatError(f"{name} looks like a chat but is damaged ({exc!r}).") from exc
    raise ImportFormatError(
        f"{name} is neither a Hearth chat export nor an LM Studio conversation file."
    )


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "\n".join(
            str(part.get("text", ""))
            for part in value
            if isinstance(part, dict) and part.get("type") == "text"
        )
    return ""


def _from_ours(data: dict[str, Any]) -> ImportedChat:
    if int(data.get("version", 0)) > VERSION:
        raise ImportFormatError("The chat was exported by a newer Hearth.")
    chat = ImportedChat(
        title=str(data.get("title") or "Imported chat"),
        system_prompt=str(data.get("system_prompt") or ""),
        sampling=dict(data.get("sampling") or {}),
        options=dict(data.get("options") or {}),
    )
    for m in data["messages"]:
        if m["role"] not in ("user", "assistant", "system"):
            raise ValueError(f"unknown role {m['role']!r}")
        chat.messages.append(
            ImportedMessage(
                key=str(m["id"]),
                parent_key=None if m.get("parent_id") is None else str(m["parent_id"]),
                role=m["role"],
                content=str(m.get("content") or ""),
                status=str(m.get("status") or "complete"),
                selected=bool(m.get("selected", True)),
                stats=m.get("stats"),
                stop_reason=m.get("stop_reason"),
                model_id=m.get("model_id"),
                meta=dict(m.get("meta") or {}),
                attachments=list(m.get("attachments") or []),
            )
        )
    return chat


def _from_lmstudio(data: dict[str, Any]) -> ImportedChat:
    system = ""
    config = data.get("perChatPredictionConfig") or {}
    for f in config.get("fields", []) if isinstance(config, dict) else []:
        if isinstance(f, dict) and f.get("key") == "llm.prediction.systemPrompt":
            system = str(f.get("value") or "")
    system = system or str(data.get("systemPrompt") or "")
    chat = ImportedChat(title=str(data.get("name") or "Imported chat"), system_prompt=system)
    parent: str | None = None
    for i, message in enumerate(data["messages"]):
        versions = message.get("versions") or [message]
        chosen = int(message.get("currentlySelected") or 0)
        chosen_key: str | None = None
        for j, version in enumerate(versions):
            role = version.get("role")
            if role not in ("user", "assistant", "system"):
                continue
            if version.get("type") == "multiStep":
                content = "\n\n".join(
                    _text(step.get("content"))
                    for step in version.get("steps", [])
                    if isinstance(step, dict) and step.get("type") == "contentBlock"
                )
            else:
                content = _text(version.get("content"))
            key = f"{i}.{j}"
            chat.messages.append(
                ImportedMessage(key, parent, role, content, selected=(j == chosen))
            )
            if j == chosen or chosen_key is None:
                chosen_key = key
        # Later messages continue from the shown version (LM Studio keeps one line of them).
        parent = chosen_key if chosen_key is not None else parent
    return chat


def _stats(data: Any) -> GenerationStats | None:
    if not isinstance(data, dict):
        return None
    fields = GenerationStats.__dataclass_fields__
    return GenerationStats(**{k: v for k, v in data.items() if k in fields})


def import_chat(store: ChatStore, chat: ImportedChat) -> Conversation:
    """Write an imported chat as a new conversation."""
    conversation = store.create_conversation(
        chat.title,
        chat.system_prompt,
        SamplingParams.from_dict(chat.sampling),
        options=ConversationOptions.from_dict(chat.options),
    )
    ids: dict[str, int] = {}
    shown: list[int] = []
    for m in chat.messages:
        parent = ids.get(m.parent_key) if m.parent_key is not None else None
        if m.role == "assistant":
            reply = store.begin_reply(conversation.id, m.model_id, parent_id=parent)
            stats = _stats(m.stats)
            status = (
                m.status
                if m.status in ("complete", "interrupted", "error", "cancelled")
                else "interrupted"
            )
            store.finish_reply(
                reply.id,
                status=status,  # type: ignore[arg-type]
                stats=stats,
                stop_reason=m.stop_reason,
                final_text=m.content,
            )
            new_id = reply.id
        else:
            new_id = store.add_message(conversation.id, m.role, m.content, parent_id=parent).id  # type: ignore[arg-type]
        if m.meta:
            store.update_meta(new_id, **m.meta)
        for a in m.attachments:
            store.add_attachment(
                new_id,
                str(a.get("name", "file")),
                str(a.get("kind", "text")),
                int(a.get("size", 0)),
                str(a.get("text", "")),
            )
        ids[m.key] = new_id
        if m.selected:
            shown.append(new_id)
    for msg_id in shown:
        store.select_alternative(msg_id)
    return conversation
