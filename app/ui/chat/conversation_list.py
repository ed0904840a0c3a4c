"""The list of chats: new, open, rename, delete."""

from __future__ import annotations

from PySide6.QtCore import QPoint, Qt, Signal, Slot
from PySide6.QtWidgets import (
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.backend.chats import Conversation


class ConversationList(QWidget):
    new_requested = Signal()
    open_requested = Signal(int)
    rename_requested = Signal(int, str)
    delete_requested = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("chatsPanel")
        self.setMinimumWidth(170)
        title = QLabel("Chats")
        title.setObjectName("sectionTitle")
        self.new_button = QPushButton("+ New")
        self.new_button.setAccessibleName("New chat")
        self.new_button.setToolTip("New chat (Ctrl+N)")
        self.list = QListWidget()
        self.list.setObjectName("chatList")
        self.list.setAccessibleName("Chats")
        self.list.setToolTip("Right-click a chat to rename or delete it")
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.list.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        header = QHBoxLayout()
        header.addWidget(title)
        header.addStretch(1)
        header.addWidget(self.new_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 10, 4, 10)
        layout.setSpacing(8)
        layout.addLayout(header)
        layout.addWidget(self.list, 1)
        self.new_button.clicked.connect(self.new_requested)
        self.list.itemClicked.connect(self._on_clicked)
        self.list.customContextMenuRequested.connect(self._show_menu)
        self._current: int | None = None

    @Slot(list)
    def set_conversations(self, conversations: list[Conversation]) -> None:
        self.list.clear()
        for conversation in conversations:
            item = QListWidgetItem(conversation.title or "Unnamed chat")
            item.setToolTip(conversation.title or "Unnamed chat")
            item.setData(Qt.ItemDataRole.UserRole, conversation.id)
            self.list.addItem(item)
            if conversation.id == self._current:
                self.list.setCurrentItem(item)

    def set_current(self, conversation_id: int) -> None:
        self._current = conversation_id
        for row in range(self.list.count()):
            item = self.list.item(row)
            if item.data(Qt.ItemDataRole.UserRole) == conversation_id:
                self.list.setCurrentItem(item)

    def _on_clicked(self, item: QListWidgetItem) -> None:
        self.open_requested.emit(int(item.data(Qt.ItemDataRole.UserRole)))

    def _show_menu(self, position: QPoint) -> None:
        item = self.list.itemAt(position)
        if item is None:
            return
        conversation_id = int(item.data(Qt.ItemDataRole.UserRole))
        menu = QMenu(self)
        rename = menu.addAction("Rename…")
        delete = menu.addAction("Delete…")
        chosen = menu.exec(self.list.mapToGlobal(position))
        if chosen is rename:
            title, ok = QInputDialog.getText(self, "Rename chat", "Title:", text=item.text())
            if ok and title.strip():
                self.rename_requested.emit(conversation_id, title.strip())
        elif chosen is delete:
            answer = QMessageBox.question(self, "Delete chat", f"Delete “{item.text()}”?")
            if answer == QMessageBox.StandardButton.Yes:
                self.delete_requested.emit(conversation_id)
