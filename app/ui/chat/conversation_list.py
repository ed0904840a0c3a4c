"""The list of chats: search, new, folders, pins, and a trash to restore from.

Right-click a chat for rename, pin, duplicate, move to folder, export and delete (to the
trash). Search looks through titles and every message (on the bridge thread), so typing
never waits on the database.
"""

from __future__ import annotations

from functools import partial

from PySide6.QtCore import QPoint, Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.backend.chats import Conversation, Folder, SearchHit

ROLE_ID = Qt.ItemDataRole.UserRole
SEARCH_DELAY_MS = 150


class ConversationList(QWidget):
    new_requested = Signal()
    open_requested = Signal(int)
    rename_requested = Signal(int, str)
    delete_requested = Signal(int)
    #: (action, arguments) for the bridge's chat_action.
    action_requested = Signal(str, dict)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("chatsPanel")
        self.setMinimumWidth(170)
        title = QLabel("Chats")
        title.setObjectName("sectionTitle")
        self.new_button = QPushButton("+ New")
        self.new_button.setAccessibleName("New chat")
        self.new_button.setToolTip("New chat (Ctrl+N)")
        self.folder_button = QPushButton("⊞")
        self.folder_button.setAccessibleName("New folder")
        self.folder_button.setToolTip("New folder")
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search chats (Ctrl+K)")
        self.search.setAccessibleName("Search chats")
        self.search.setClearButtonEnabled(True)
        self.list = QListWidget()
        self.list.setObjectName("chatList")
        self.list.setAccessibleName("Chats")
        self.list.setToolTip("Right-click a chat to rename, pin, move, export or delete it")
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.list.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.empty = QLabel("")
        self.empty.setObjectName("muted")
        self.empty.setWordWrap(True)
        self.empty.hide()
        self.trash_button = QPushButton("Trash")
        self.trash_button.setAccessibleName("Trash")
        self.trash_button.setCheckable(True)
        self.trash_button.setToolTip("Deleted chats: restore them, or empty the trash")
        self.empty_trash_button = QPushButton("Empty trash")
        self.empty_trash_button.setAccessibleName("Empty trash")
        self.empty_trash_button.hide()
        self.import_button = QPushButton("Import…")
        self.import_button.setAccessibleName("Import chat")
        self.import_button.setToolTip("Import a Hearth JSON export or an LM Studio conversation")
        header = QHBoxLayout()
        header.addWidget(title)
        header.addStretch(1)
        header.addWidget(self.folder_button)
        header.addWidget(self.new_button)
        footer = QHBoxLayout()
        footer.addWidget(self.trash_button)
        footer.addWidget(self.import_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 10, 4, 10)
        layout.setSpacing(8)
        layout.addLayout(header)
        layout.addWidget(self.search)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.empty)
        layout.addWidget(self.empty_trash_button)
        layout.addLayout(footer)

        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(SEARCH_DELAY_MS)
        self._search_timer.timeout.connect(self._run_search)
        self.new_button.clicked.connect(self.new_requested)
        self.folder_button.clicked.connect(self._new_folder)
        self.search.textChanged.connect(lambda _t: self._search_timer.start())
        self.list.itemClicked.connect(self._on_clicked)
        self.list.itemActivated.connect(self._on_clicked)
        self.list.customContextMenuRequested.connect(self._show_menu)
        self.trash_button.toggled.connect(self._toggle_trash)
        self.empty_trash_button.clicked.connect(
            lambda: self.action_requested.emit("empty_trash", {})
        )
        self.import_button.clicked.connect(self._import)
        self._current: int | None = None
        self._conversations: list[Conversation] = []
        self._folders: list[Folder] = []
        self._trash: list[Conversation] = []

    # ------------------------------------------------------------------ content
    @Slot(list)
    def set_folders(self, folders: list[Folder]) -> None:
        self._folders = folders

    @Slot(list)
    def set_conversations(self, conversations: list[Conversation]) -> None:
        self._conversations = conversations
        if not self.search.text().strip() and not self.trash_button.isChecked():
            self._fill_chats()

    @Slot(list)
    def set_trash(self, conversations: list[Conversation]) -> None:
        self._trash = conversations
        if self.trash_button.isChecked():
            self._fill_trash()

    @Slot(str, list)
    def show_search(self, query: str, hits: list[SearchHit]) -> None:
        if query != self.search.text().strip() or self.trash_button.isChecked():
            return  # an older answer
        self.list.clear()
        for hit in hits:
            item = QListWidgetItem(
                f"{hit.title}\n{hit.snippet}" if hit.snippet != hit.title else hit.title
            )
            item.setToolTip(hit.snippet)
            item.setData(ROLE_ID, hit.conversation_id)
            self.list.addItem(item)
        self._set_empty("" if hits else f"No chats match “{query}”.")

    def _fill_chats(self) -> None:
        self.list.clear()
        names = {f.id: f.name for f in self._folders}
        pinned = [c for c in self._conversations if c.pinned]
        loose = [c for c in self._conversations if not c.pinned and c.folder_id not in names]
        for c in pinned:
            self._add_chat(c, "★ ")
        for folder in self._folders:
            self._add_header(f"▾ {folder.name}", folder.id)
            for c in self._conversations:
                if c.folder_id == folder.id and not c.pinned:
                    self._add_chat(c, "    ")
        if self._folders and loose:
            self._add_header("Chats", None)
        for c in loose:
            self._add_chat(c, "")
        self._set_empty("" if self._conversations else "No chats yet. Press + New to start one.")

    def _fill_trash(self) -> None:
        self.list.clear()
        for c in self._trash:
            self._add_chat(c, "")
        self._set_empty("" if self._trash else "The trash is empty.")
        self.empty_trash_button.setEnabled(bool(self._trash))

    def _add_chat(self, conversation: Conversation, prefix: str) -> None:
        title = conversation.title or "Unnamed chat"
        item = QListWidgetItem(prefix + title)
        item.setToolTip(title)
        item.setData(ROLE_ID, conversation.id)
        self.list.addItem(item)
        if conversation.id == self._current:
            self.list.setCurrentItem(item)

    def _add_header(self, text: str, folder_id: int | None) -> None:
        item = QListWidgetItem(text)
        item.setFlags(Qt.ItemFlag.ItemIsEnabled)
        item.setData(Qt.ItemDataRole.UserRole + 1, folder_id)
        font = item.font()
        font.setBold(True)
        item.setFont(font)
        self.list.addItem(item)

    def _set_empty(self, text: str) -> None:
        self.empty.setText(text)
        self.empty.setVisible(bool(text))

    def set_current(self, conversation_id: int) -> None:
        self._current = conversation_id
        for row in range(self.list.count()):
            item = self.list.item(row)
            if item.data(ROLE_ID) == conversation_id:
                self.list.setCurrentItem(item)

    def chat_ids(self) -> list[int]:
        """The chats in the order shown (for Ctrl+Tab)."""
        ids = [self.list.item(r).data(ROLE_ID) for r in range(self.list.count())]
        return [int(i) for i in ids if i is not None]

    # ------------------------------------------------------------------ actions
    def _run_search(self) -> None:
        query = self.search.text().strip()
        if self.trash_button.isChecked():
            return
        if query:
            self.action_requested.emit("search", {"query": query})
        else:
            self._fill_chats()

    def _toggle_trash(self, on: bool) -> None:
        self.empty_trash_button.setVisible(on)
        self.search.setEnabled(not on)
        if on:
            self._fill_trash()
            self.action_requested.emit("list_trash", {})
        else:
            self._fill_chats()

    def _on_clicked(self, item: QListWidgetItem) -> None:
        conversation_id = item.data(ROLE_ID)
        if conversation_id is not None and not self.trash_button.isChecked():
            self.open_requested.emit(int(conversation_id))

    def menu_for(self, item: QListWidgetItem) -> QMenu | None:
        """The context menu of a row (actions are connected; ``exec`` shows it)."""
        conversation_id = item.data(ROLE_ID)
        menu = QMenu(self)
        if conversation_id is None:
            folder_id = item.data(Qt.ItemDataRole.UserRole + 1)
            if folder_id is None:
                return None
            menu.addAction("Rename folder…", lambda: self._rename_folder(int(folder_id)))
            menu.addAction(
                "Delete folder (keeps its chats)",
                lambda: self.action_requested.emit("delete_folder", {"folder_id": folder_id}),
            )
            return menu
        cid = int(conversation_id)
        args = {"conversation_id": cid}
        if self.trash_button.isChecked():
            menu.addAction("Restore", lambda: self.action_requested.emit("restore", args))
            menu.addAction(
                "Delete forever", lambda: self.action_requested.emit("delete_forever", args)
            )
            return menu
        chat = next((c for c in self._conversations if c.id == cid), None)
        pinned = bool(chat and chat.pinned)
        menu.addAction("Rename…", lambda: self._rename(cid, item))
        menu.addAction(
            "Unpin" if pinned else "Pin",
            lambda: self.action_requested.emit("pin", {**args, "pinned": not pinned}),
        )
        menu.addAction("Duplicate", lambda: self.action_requested.emit("duplicate", args))
        move = menu.addMenu("Move to folder")
        move.addAction(
            "No folder", lambda: self.action_requested.emit("move", {**args, "folder_id": None})
        )
        for folder in self._folders:
            move.addAction(folder.name, partial(self._move, cid, folder.id))
        menu.addAction("Export as Markdown…", lambda: self._export(cid, "md"))
        menu.addAction("Export as JSON…", lambda: self._export(cid, "json"))
        menu.addSeparator()
        menu.addAction("Move to trash", lambda: self.delete_requested.emit(cid))
        return menu

    def _move(self, conversation_id: int, folder_id: int | None) -> None:
        self.action_requested.emit(
            "move", {"conversation_id": conversation_id, "folder_id": folder_id}
        )

    def _show_menu(self, position: QPoint) -> None:
        item = self.list.itemAt(position)
        menu = self.menu_for(item) if item is not None else None
        if menu is not None:
            menu.exec(self.list.mapToGlobal(position))

    def _rename(self, conversation_id: int, item: QListWidgetItem) -> None:
        title, ok = QInputDialog.getText(self, "Rename chat", "Title:", text=item.toolTip())
        if ok and title.strip():
            self.rename_requested.emit(conversation_id, title.strip())

    def _new_folder(self) -> None:
        name, ok = QInputDialog.getText(self, "New folder", "Folder name:")
        if ok and name.strip():
            self.action_requested.emit("new_folder", {"name": name.strip()})

    def _rename_folder(self, folder_id: int) -> None:
        name, ok = QInputDialog.getText(self, "Rename folder", "Folder name:")
        if ok and name.strip():
            self.action_requested.emit(
                "rename_folder", {"folder_id": folder_id, "name": name.strip()}
            )

    def _export(self, conversation_id: int, fmt: str) -> None:
        title = next((c.title for c in self._conversations if c.id == conversation_id), "chat")
        safe = "".join(ch if ch.isalnum() or ch in " -_" else "_" for ch in title).strip() or "chat"
        path, _ = QFileDialog.getSaveFileName(
            self,
            "Export chat",
            f"{safe}.{fmt}",
            "Markdown (*.md)" if fmt == "md" else "JSON (*.json)",
        )
        if path:
            self.action_requested.emit(
                "export", {"conversation_id": conversation_id, "path": path, "format": fmt}
            )

    def _import(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import chat", "", "Chat files (*.json)")
        if path:
            self.action_requested.emit("import", {"path": path})
