"""Chat-list and preset actions the bridge runs on its thread, by name.

One dispatcher instead of a signal per action keeps the page↔bridge wiring short; every
action is listed here, with its arguments, and answers through the bridge's signals.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from app.backend.chat_export import (
    ImportFormatError,
    import_chat,
    parse_import,
    to_json,
    to_markdown,
)
from app.backend.chats import ChatStore, ConversationOptions
from app.backend.engine.types import SamplingParams


class _Bridge(Protocol):
    """What the actions need from the bridge."""

    @property
    def chats(self) -> ChatStore: ...

    def emit_list(self) -> None: ...

    def emit_trash(self) -> None: ...

    def emit_presets(self) -> None: ...

    def emit_search(self, query: str) -> None: ...

    def emit_error(self, text: str) -> None: ...

    def emit_exported(self, path: str) -> None: ...

    def emit_imported(self, conversation: object) -> None: ...

    def current_model_id(self) -> str | None: ...


def _export(bridge: _Bridge, conversation_id: int, path: str, fmt: str) -> None:
    chats = bridge.chats
    conversation = chats.get_conversation(conversation_id)
    if conversation is None:
        return
    shown = chats.messages(conversation_id)
    if fmt == "md":
        text = to_markdown(conversation, shown)
    else:
        everything = chats.all_messages(conversation_id)
        files = {m.id: m.attachments for m in shown}
        for m in everything:
            m.attachments = files.get(m.id) or (chats.get_message(m.id) or m).attachments
        text = to_json(conversation, everything, [m.id for m in shown])
    try:
        target = Path(path)
        partial = target.with_name(target.name + ".part")
        partial.write_text(text, encoding="utf-8")
        partial.replace(target)
    except OSError as exc:
        bridge.emit_error(f"Could not export the chat to {path}: {exc.strerror or exc}.")
        return
    bridge.emit_exported(path)


def _import(bridge: _Bridge, path: str) -> None:
    name = Path(path).name
    try:
        raw = Path(path).read_bytes()
        chat = parse_import(raw, f"“{name}”")
    except OSError as exc:
        bridge.emit_error(f"Could not read “{name}”: {exc.strerror or exc}.")
        return
    except ImportFormatError as exc:
        bridge.emit_error(f"Nothing was imported: {exc}")
        return
    conversation = import_chat(bridge.chats, chat)
    bridge.emit_list()
    bridge.emit_imported(conversation)


def run_action(bridge: _Bridge, name: str, args: dict[str, Any]) -> None:
    chats = bridge.chats
    conv = int(args.get("conversation_id", 0))
    if name == "pin":
        chats.set_pinned(conv, bool(args.get("pinned", True)))
    elif name == "duplicate":
        chats.duplicate_conversation(conv)
    elif name == "restore":
        chats.restore_conversation(conv)
        bridge.emit_trash()
    elif name == "delete_forever":
        chats.delete_conversation(conv)
        bridge.emit_trash()
        return
    elif name == "empty_trash":
        chats.empty_trash()
        bridge.emit_trash()
        return
    elif name == "list_trash":
        bridge.emit_trash()
        return
    elif name == "new_folder":
        chats.create_folder(str(args["name"]))
    elif name == "rename_folder":
        chats.rename_folder(int(args["folder_id"]), str(args["name"]))
    elif name == "delete_folder":
        chats.delete_folder(int(args["folder_id"]))
    elif name == "move":
        folder = args.get("folder_id")
        chats.move_to_folder(conv, None if folder is None else int(folder))
    elif name == "search":
        bridge.emit_search(str(args.get("query", "")))
        return
    elif name == "export":
        _export(bridge, conv, str(args["path"]), str(args.get("format", "json")))
        return
    elif name == "import":
        _import(bridge, str(args["path"]))
        return
    elif name == "list_presets":
        bridge.emit_presets()
        return
    elif name == "save_preset":
        chats.save_preset(
            str(args["name"]),
            str(args.get("system_prompt", "")),
            args.get("sampling") or SamplingParams(),
            args.get("options") or ConversationOptions(),
        )
        bridge.emit_presets()
        return
    elif name == "delete_preset":
        chats.delete_preset(int(args["preset_id"]))
        bridge.emit_presets()
        return
    elif name == "default_preset":
        model_id = bridge.current_model_id()
        if model_id is None:
            bridge.emit_error("Load a model first: the default preset is remembered per model.")
            return
        preset = args.get("preset_id")
        chats.set_model_default_preset(model_id, None if preset is None else int(preset))
        bridge.emit_presets()
        return
    elif name == "options":
        chats.update_conversation_settings(conv, options=args["options"])
        return
    else:
        raise ValueError(f"unknown chat action {name!r}")
    bridge.emit_list()
