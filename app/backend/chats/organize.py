"""Finding and arranging chats: list, search, folders, pins, trash, duplicate."""

from __future__ import annotations

import json
import time

from app.backend.chats.base import StoreBase, _conversation
from app.backend.chats.models import ChatNotFoundError, Conversation, Folder, SearchHit

SNIPPET_CHARS = 90


def _like_pattern(query: str) -> str:
    escaped = query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def snippet(text: str, query: str, width: int = SNIPPET_CHARS) -> str:
    """A one-line excerpt of ``text`` around the first case-insensitive match of ``query``."""
    flat = " ".join(text.split())
    at = flat.lower().find(query.lower())
    if at < 0:
        return flat[:width]
    start = max(0, at - width // 3)
    end = min(len(flat), start + width)
    return ("…" if start else "") + flat[start:end] + ("…" if end < len(flat) else "")


class OrganizeMixin(StoreBase):
    def list_conversations(self) -> list[Conversation]:
        """Chats not in the trash: pinned first, then most recently active first."""
        rows = self._read(
            "SELECT * FROM conversations WHERE deleted_at IS NULL"
            " ORDER BY pinned DESC, updated_at DESC, id DESC"
        )
        return [_conversation(r) for r in rows]

    def list_trash(self) -> list[Conversation]:
        rows = self._read(
            "SELECT * FROM conversations WHERE deleted_at IS NOT NULL ORDER BY deleted_at DESC"
        )
        return [_conversation(r) for r in rows]

    def search(self, query: str, limit: int = 200) -> list[SearchHit]:
        """Chats whose title or any message contains ``query`` (case-insensitive for ASCII)."""
        query = query.strip()
        if not query:
            return []
        pattern = _like_pattern(query)
        by_title = self._read(
            "SELECT id, title FROM conversations WHERE deleted_at IS NULL"
            " AND title LIKE ? ESCAPE '\\' ORDER BY pinned DESC, updated_at DESC LIMIT ?",
            (pattern, limit),
        )
        hits = [SearchHit(int(r["id"]), r["title"], r["title"]) for r in by_title]
        seen = {h.conversation_id for h in hits}
        by_content = self._read(
            "SELECT c.id, c.title, m.id AS message_id, m.content FROM messages m"
            " JOIN conversations c ON c.id = m.conversation_id"
            " WHERE c.deleted_at IS NULL AND m.content LIKE ? ESCAPE '\\'"
            " GROUP BY c.id ORDER BY c.pinned DESC, c.updated_at DESC LIMIT ?",
            (pattern, limit),
        )
        for row in by_content:
            if row["id"] not in seen and len(hits) < limit:
                hits.append(
                    SearchHit(
                        int(row["id"]),
                        row["title"],
                        snippet(row["content"], query),
                        int(row["message_id"]),
                    )
                )
        return hits

    # -- pins and trash -------------------------------------------------------------------

    def set_pinned(self, conv_id: int, pinned: bool) -> None:
        with self._write() as conn:
            conn.execute("UPDATE conversations SET pinned = ? WHERE id = ?", (int(pinned), conv_id))

    def trash_conversation(self, conv_id: int) -> None:
        """Move a chat to the trash (restorable until the trash is emptied)."""
        with self._write("move the chat to the trash") as conn:
            conn.execute(
                "UPDATE conversations SET deleted_at = ? WHERE id = ?", (time.time(), conv_id)
            )

    def restore_conversation(self, conv_id: int) -> None:
        with self._write("restore the chat") as conn:
            conn.execute("UPDATE conversations SET deleted_at = NULL WHERE id = ?", (conv_id,))

    def empty_trash(self) -> int:
        """Delete every chat in the trash for good; returns how many."""
        with self._write("empty the trash") as conn:
            n = conn.execute("DELETE FROM conversations WHERE deleted_at IS NOT NULL").rowcount
        return int(n)

    # -- folders --------------------------------------------------------------------------

    def list_folders(self) -> list[Folder]:
        rows = self._read("SELECT id, name FROM folders ORDER BY name COLLATE NOCASE, id")
        return [Folder(int(r["id"]), r["name"]) for r in rows]

    def create_folder(self, name: str) -> Folder:
        with self._write("create the folder") as conn:
            cur = conn.execute(
                "INSERT INTO folders (name, created_at) VALUES (?, ?)", (name, time.time())
            )
        return Folder(int(cur.lastrowid or 0), name)

    def rename_folder(self, folder_id: int, name: str) -> None:
        with self._write("rename the folder") as conn:
            conn.execute("UPDATE folders SET name = ? WHERE id = ?", (name, folder_id))

    def delete_folder(self, folder_id: int) -> None:
        """Remove a folder; its chats stay, outside any folder."""
        with self._write("delete the folder") as conn:
            conn.execute(
                "UPDATE conversations SET folder_id = NULL WHERE folder_id = ?", (folder_id,)
            )
            conn.execute("DELETE FROM folders WHERE id = ?", (folder_id,))

    def move_to_folder(self, conv_id: int, folder_id: int | None) -> None:
        with self._write("move the chat") as conn:
            conn.execute(
                "UPDATE conversations SET folder_id = ? WHERE id = ?", (folder_id, conv_id)
            )

    # -- duplicate ------------------------------------------------------------------------

    def duplicate_conversation(self, conv_id: int, title: str | None = None) -> Conversation:
        """A full copy (every version of every message, attachments too), shown first."""
        now = time.time()
        with self._write("duplicate the chat") as conn:
            src = conn.execute("SELECT * FROM conversations WHERE id = ?", (conv_id,)).fetchone()
            if src is None:
                raise ChatNotFoundError(f"The chat no longer exists (id {conv_id}).")
            new_title = title or f"{src['title']} (copy)"
            cur = conn.execute(
                "INSERT INTO conversations (title, created_at, updated_at, system_prompt,"
                " sampling_json, model_id, folder_id, options_json)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    new_title,
                    now,
                    now,
                    src["system_prompt"],
                    src["sampling_json"],
                    src["model_id"],
                    src["folder_id"],
                    src["options_json"] or json.dumps({}),
                ),
            )
            new_id = int(cur.lastrowid or 0)
            mapping: dict[int, int] = {}
            rows = conn.execute(
                "SELECT * FROM messages WHERE conversation_id = ? ORDER BY id", (conv_id,)
            ).fetchall()
            for row in rows:
                parent = mapping.get(row["parent_id"]) if row["parent_id"] is not None else None
                status = "interrupted" if row["status"] == "streaming" else row["status"]
                cur = conn.execute(
                    "INSERT INTO messages (conversation_id, role, content, status, created_at,"
                    " model_id, stats_json, stop_reason, error, parent_id, selected, meta_json)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        new_id,
                        row["role"],
                        row["content"],
                        status,
                        row["created_at"],
                        row["model_id"],
                        row["stats_json"],
                        row["stop_reason"],
                        row["error"],
                        parent,
                        row["selected"],
                        row["meta_json"],
                    ),
                )
                mapping[int(row["id"])] = int(cur.lastrowid or 0)
                conn.execute(
                    "INSERT INTO attachments (message_id, name, kind, size, text)"
                    " SELECT ?, name, kind, size, text FROM attachments WHERE message_id = ?",
                    (mapping[int(row["id"])], row["id"]),
                )
            created = conn.execute("SELECT * FROM conversations WHERE id = ?", (new_id,)).fetchone()
        return _conversation(created)
