"""SQLite-backed chat history: conversations, and messages as a tree of versions.

See ``base.py`` for the durability choices (WAL, one short transaction per change).
Organising chats (folders, pins, trash, search, duplicate) lives in ``organize.py``; presets
in ``presets.py``.
"""

from __future__ import annotations

import json
import sqlite3
import time
from typing import Any

from app.backend.chats.base import (
    UNSET,
    _attachment,
    _conversation,
    _message,
    _Unset,
)
from app.backend.chats.models import (
    FINAL_STATUSES,
    ROLES,
    STATUSES,
    Attachment,
    ChatNotFoundError,
    Conversation,
    ConversationOptions,
    Message,
    MessageStatus,
    Role,
)
from app.backend.chats.organize import OrganizeMixin
from app.backend.chats.presets import PresetsMixin
from app.backend.chats.tree import active_path, leaf_id
from app.backend.engine.types import GenerationStats, SamplingParams

_TREE_COLUMNS = "id, parent_id, selected"


class ChatStore(OrganizeMixin, PresetsMixin):
    """All conversations and messages in one SQLite file; safe to share between threads.

    Meant for one process at a time (the app is single-instance): opening the store marks any
    reply still "streaming" as "interrupted", which would be wrong for a live second writer.
    """

    # -- conversations --------------------------------------------------------------------

    def create_conversation(
        self,
        title: str = "New chat",
        system_prompt: str = "",
        sampling: SamplingParams | None = None,
        model_id: str | None = None,
        *,
        folder_id: int | None = None,
        options: ConversationOptions | None = None,
    ) -> Conversation:
        now = time.time()
        sampling = sampling or SamplingParams()
        options = options or ConversationOptions()
        with self._write() as conn:
            cur = conn.execute(
                "INSERT INTO conversations (title, created_at, updated_at, system_prompt,"
                " sampling_json, model_id, folder_id, options_json)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    title,
                    now,
                    now,
                    system_prompt,
                    json.dumps(sampling.to_dict()),
                    model_id,
                    folder_id,
                    json.dumps(options.to_dict()),
                ),
            )
            conv_id = int(cur.lastrowid or 0)
        return Conversation(
            conv_id, title, now, now, system_prompt, sampling, model_id, folder_id, options=options
        )

    def get_conversation(self, conv_id: int) -> Conversation | None:
        rows = self._read("SELECT * FROM conversations WHERE id = ?", (conv_id,))
        return _conversation(rows[0]) if rows else None

    def rename_conversation(self, conv_id: int, title: str) -> None:
        with self._write() as conn:
            self._touch(conn, conv_id, title=title)

    def update_conversation_settings(
        self,
        conv_id: int,
        *,
        system_prompt: str | _Unset = UNSET,
        sampling: SamplingParams | _Unset = UNSET,
        model_id: str | _Unset | None = UNSET,
        options: ConversationOptions | _Unset = UNSET,
    ) -> None:
        """Change only the settings passed (``model_id=None`` clears the model)."""
        changes: dict[str, Any] = {}
        if not isinstance(system_prompt, _Unset):
            changes["system_prompt"] = system_prompt
        if not isinstance(sampling, _Unset):
            changes["sampling_json"] = json.dumps(sampling.to_dict())
        if not isinstance(model_id, _Unset):
            changes["model_id"] = model_id
        if not isinstance(options, _Unset):
            changes["options_json"] = json.dumps(options.to_dict())
        with self._write() as conn:
            self._touch(conn, conv_id, **changes)

    def delete_conversation(self, conv_id: int) -> bool:
        """Delete a conversation and all its messages for good; False if it did not exist.

        (The UI moves chats to the trash first: ``trash_conversation``.)"""
        with self._write("delete the chat") as conn:
            n = conn.execute("DELETE FROM conversations WHERE id = ?", (conv_id,)).rowcount
        return n > 0

    # -- messages -------------------------------------------------------------------------

    def _tree_rows(self, conn: sqlite3.Connection, conv_id: int) -> list[sqlite3.Row]:
        return conn.execute(
            f"SELECT {_TREE_COLUMNS} FROM messages WHERE conversation_id = ?", (conv_id,)
        ).fetchall()

    def _select(self, conn: sqlite3.Connection, msg_id: int) -> None:
        """Make ``msg_id`` the shown version among its siblings."""
        row = conn.execute(
            "SELECT conversation_id, parent_id FROM messages WHERE id = ?", (msg_id,)
        ).fetchone()
        if row is None:
            raise ChatNotFoundError(f"The message no longer exists (id {msg_id}).")
        conn.execute(
            "UPDATE messages SET selected = (id = ?) WHERE conversation_id = ? AND parent_id IS ?",
            (msg_id, row["conversation_id"], row["parent_id"]),
        )

    def add_message(
        self,
        conv_id: int,
        role: Role,
        content: str,
        status: MessageStatus = "complete",
        model_id: str | None = None,
        *,
        parent_id: int | _Unset | None = UNSET,
        meta: dict[str, Any] | None = None,
    ) -> Message:
        """Add a message after ``parent_id`` (default: the end of the shown path) and show it.

        Adding under a parent that already has children creates an alternative version."""
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}")
        if status not in STATUSES:
            raise ValueError(f"unknown status {status!r}")
        now = time.time()
        meta_json = json.dumps(meta) if meta else None
        with self._write() as conn:
            self._touch(conn, conv_id)
            parent = leaf_id(self._tree_rows(conn, conv_id)) if parent_id is UNSET else parent_id
            cur = conn.execute(
                "INSERT INTO messages (conversation_id, role, content, status, created_at,"
                " model_id, parent_id, selected, meta_json) VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?)",
                (conv_id, role, content, status, now, model_id, parent, meta_json),
            )
            msg_id = int(cur.lastrowid or 0)
            self._select(conn, msg_id)
        return Message(
            msg_id,
            conv_id,
            role,
            content,
            status,
            now,
            model_id=model_id,
            parent_id=parent if isinstance(parent, int) else None,
            meta=dict(meta or {}),
        )

    def begin_reply(
        self,
        conv_id: int,
        model_id: str | None,
        *,
        parent_id: int | _Unset | None = UNSET,
    ) -> Message:
        """An empty assistant message in status "streaming", filled by ``append_reply``."""
        return self.add_message(
            conv_id, "assistant", "", status="streaming", model_id=model_id, parent_id=parent_id
        )

    def reopen_reply(self, msg_id: int) -> Message:
        """Continue a finished reply: it streams again and new text is appended to it."""
        with self._write() as conn:
            cur = conn.execute(
                "UPDATE messages SET status = 'streaming', stop_reason = NULL, error = NULL"
                " WHERE id = ? AND role = 'assistant' AND status != 'streaming'",
                (msg_id,),
            )
            if cur.rowcount == 0:
                raise ChatNotFoundError(f"No finished reply with id {msg_id}.")
        message = self.get_message(msg_id)
        assert message is not None
        return message

    def append_reply(self, msg_id: int, text: str) -> None:
        """Append streamed text to a reply; one small transaction, call at a coalesced rate."""
        if not text:
            return
        with self._write() as conn:
            cur = conn.execute(
                "UPDATE messages SET content = content || ? WHERE id = ? AND status = 'streaming'",
                (text, msg_id),
            )
            if cur.rowcount == 0:
                raise ChatNotFoundError(f"No streaming reply with id {msg_id}.")

    def finish_reply(
        self,
        msg_id: int,
        *,
        status: MessageStatus,
        stats: GenerationStats | None = None,
        stop_reason: str | None = None,
        error: str | None = None,
        final_text: str | None = None,
    ) -> None:
        """Close a streaming reply; ``final_text`` replaces the accumulated text if given."""
        if status not in FINAL_STATUSES:
            raise ValueError(f"a reply cannot finish with status {status!r}")
        stats_json = json.dumps(stats.to_dict()) if stats is not None else None
        with self._write() as conn:
            cur = conn.execute(
                "UPDATE messages SET status = ?, stats_json = ?, stop_reason = ?, error = ?,"
                " content = COALESCE(?, content) WHERE id = ? AND status = 'streaming'",
                (status, stats_json, stop_reason, error, final_text, msg_id),
            )
            if cur.rowcount == 0:
                raise ChatNotFoundError(f"No streaming reply with id {msg_id}.")
            row = conn.execute(
                "SELECT conversation_id FROM messages WHERE id = ?", (msg_id,)
            ).fetchone()
            self._touch(conn, row[0])

    def update_meta(self, msg_id: int, **values: Any) -> None:
        """Merge ``values`` into a message's extras (reasoning time, citations, checks)."""
        with self._write() as conn:
            row = conn.execute("SELECT meta_json FROM messages WHERE id = ?", (msg_id,)).fetchone()
            if row is None:
                raise ChatNotFoundError(f"The message no longer exists (id {msg_id}).")
            meta = json.loads(row[0] or "{}")
            meta.update(values)
            conn.execute(
                "UPDATE messages SET meta_json = ? WHERE id = ?", (json.dumps(meta), msg_id)
            )

    def edit_message(self, msg_id: int, content: str) -> Message:
        """A new version of a message with ``content``, shown instead of the old one.

        The old version and everything after it stay, reachable through the version arrows."""
        old = self.get_message(msg_id)
        if old is None:
            raise ChatNotFoundError(f"The message no longer exists (id {msg_id}).")
        return self.add_message(
            old.conversation_id,
            old.role,
            content,
            model_id=old.model_id,
            parent_id=old.parent_id,
        )

    def select_alternative(self, msg_id: int) -> None:
        """Show this version of a message (and the path that continues from it)."""
        with self._write() as conn:
            self._select(conn, msg_id)

    def alternative_ids(self, msg_id: int) -> list[int]:
        """The versions of a message (its siblings, itself included), oldest first."""
        rows = self._read(
            "SELECT s.id FROM messages m JOIN messages s ON s.conversation_id = m.conversation_id"
            " AND s.parent_id IS m.parent_id WHERE m.id = ? ORDER BY s.id",
            (msg_id,),
        )
        return [int(r[0]) for r in rows]

    def delete_message(self, msg_id: int) -> None:
        """Delete one message; what followed it is kept and joins the message before it."""
        with self._write("delete the message") as conn:
            row = conn.execute(
                "SELECT conversation_id, parent_id, selected FROM messages WHERE id = ?", (msg_id,)
            ).fetchone()
            if row is None:
                raise ChatNotFoundError(f"The message no longer exists (id {msg_id}).")
            conv_id, parent, selected = row
            if not selected:
                conn.execute("UPDATE messages SET selected = 0 WHERE parent_id = ?", (msg_id,))
            else:
                conn.execute(
                    "UPDATE messages SET selected = 0 WHERE conversation_id = ? AND parent_id IS ?"
                    " AND id != ?",
                    (conv_id, parent, msg_id),
                )
            conn.execute("UPDATE messages SET parent_id = ? WHERE parent_id = ?", (parent, msg_id))
            conn.execute("DELETE FROM messages WHERE id = ?", (msg_id,))
            if selected:
                siblings = conn.execute(
                    "SELECT id, selected FROM messages WHERE conversation_id = ?"
                    " AND parent_id IS ? ORDER BY id",
                    (conv_id, parent),
                ).fetchall()
                if siblings and not any(s[1] for s in siblings):
                    conn.execute(
                        "UPDATE messages SET selected = 1 WHERE id = ?", (siblings[-1][0],)
                    )
            self._touch(conn, conv_id)

    def delete_messages_from(self, msg_id: int) -> int:
        """Delete a message and every later one in its conversation."""
        with self._write("delete messages") as conn:
            row = conn.execute(
                "SELECT conversation_id FROM messages WHERE id = ?", (msg_id,)
            ).fetchone()
            if row is None:
                raise ChatNotFoundError(f"The message no longer exists (id {msg_id}).")
            n = conn.execute(
                "DELETE FROM messages WHERE conversation_id = ? AND id >= ?", (row[0], msg_id)
            ).rowcount
            self._touch(conn, row[0])
        return int(n)

    def get_message(self, msg_id: int) -> Message | None:
        rows = self._read("SELECT * FROM messages WHERE id = ?", (msg_id,))
        if not rows:
            return None
        message = _message(rows[0])
        message.attachments = self._attachments_of([msg_id]).get(msg_id, [])
        return message

    def messages(self, conv_id: int) -> list[Message]:
        """The shown path of a conversation, oldest first, with version counts."""
        rows = self._read("SELECT * FROM messages WHERE conversation_id = ?", (conv_id,))
        result: list[Message] = []
        for step in active_path(rows):
            message = _message(step.row)
            message.alternatives, message.alternative_index = step.alternatives, step.index
            result.append(message)
        with_files = self._read(
            "SELECT DISTINCT a.message_id FROM attachments a JOIN messages m"
            " ON m.id = a.message_id WHERE m.conversation_id = ?",
            (conv_id,),
        )
        if with_files:
            files = self._attachments_of([int(r[0]) for r in with_files])
            for message in result:
                message.attachments = files.get(message.id, [])
        return result

    def all_messages(self, conv_id: int) -> list[Message]:
        """Every message of a conversation, all versions, in creation order (for export)."""
        rows = self._read(
            "SELECT * FROM messages WHERE conversation_id = ? ORDER BY id", (conv_id,)
        )
        return [_message(r) for r in rows]

    # -- attachments ----------------------------------------------------------------------

    def add_attachment(self, msg_id: int, name: str, kind: str, size: int, text: str) -> Attachment:
        with self._write("save the attachment") as conn:
            cur = conn.execute(
                "INSERT INTO attachments (message_id, name, kind, size, text)"
                " VALUES (?, ?, ?, ?, ?)",
                (msg_id, name, kind, size, text),
            )
        return Attachment(int(cur.lastrowid or 0), msg_id, name, kind, size, text)

    def _attachments_of(self, msg_ids: list[int]) -> dict[int, list[Attachment]]:
        found: dict[int, list[Attachment]] = {}
        for start in range(0, len(msg_ids), 500):
            chunk = msg_ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows = self._read(
                f"SELECT * FROM attachments WHERE message_id IN ({marks}) ORDER BY id",
                tuple(chunk),
            )
            for row in rows:
                found.setdefault(row["message_id"], []).append(_attachment(row))
        return found
