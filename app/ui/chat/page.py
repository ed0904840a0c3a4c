"""The Chat section: conversations, model bar, transcript, composer and per-chat parameters.

Every request to the backend leaves through one of this page's signals, which are connected
to the bridge's slots (queued into the bridge's thread).
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QKeySequence, QResizeEvent, QShortcut
from PySide6.QtWidgets import QLabel, QPushButton, QSplitter, QVBoxLayout, QWidget

from app.backend.attachments import Extracted
from app.backend.chats import Conversation, Message
from app.backend.engine.client import EngineStatus
from app.backend.engine.types import EngineState, SamplingParams
from app.ui.chat.composer import Composer
from app.ui.chat.conversation_list import ConversationList
from app.ui.chat.file_drop import FileDrop
from app.ui.chat.find_bar import FindBar
from app.ui.chat.load_dialog import LoadDialog
from app.ui.chat.model_bar import ModelBar
from app.ui.chat.params_panel import ParamsPanel
from app.ui.chat.template_dialog import TemplateDialog
from app.ui.chat.transcript import Transcript

EMPTY_HINT_NO_MODEL = "No model loaded. Choose a model at the top and press Load, then type below."
EMPTY_HINT = "Type a message below to start."
#: Chat shortcuts (LM Studio's where it has one); Ctrl+N and Ctrl+L live in the window.
SHORTCUTS = {
    "stop": "Esc",
    "regenerate": "Ctrl+R",
    "search": "Ctrl+K",
    "search_alt": "Ctrl+Shift+F",
    "next_chat": "Ctrl+Tab",
    "previous_chat": "Ctrl+Shift+Tab",
    "next_chat_alt": "Ctrl+PgDown",
    "previous_chat_alt": "Ctrl+PgUp",
    "attach": "Ctrl+Shift+A",
    "find": "Ctrl+F",
    "find_next": "F3",
    "find_previous": "Shift+F3",
}


class ChatPage(QWidget):
    # requests to the bridge
    list_models = Signal()
    load_model = Signal(str)
    cancel_load = Signal()
    unload_model = Signal()
    list_conversations = Signal()
    new_conversation = Signal()
    open_conversation = Signal(int)
    rename_conversation = Signal(int, str)
    delete_conversation = Signal(int)
    send = Signal(int, str, str, object, object, list)
    chat_action = Signal(str, dict)
    message_action = Signal(str, int, str)
    save_chat_settings = Signal(int, str, object)
    read_attachments = Signal(list)
    regenerate = Signal(int, str, object)
    stop = Signal()
    request_template_info = Signal()
    set_template_override = Signal(str, str, str)
    plan_load = Signal(str, dict)
    load_model_with = Signal(str, dict, bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.conversations = ConversationList()
        self.model_bar = ModelBar()
        self.transcript = Transcript()
        self.find_bar = FindBar()
        self.composer = Composer()
        self.params = ParamsPanel()
        self.notice = QLabel("")
        self.notice.setObjectName("notice")
        self.notice.setWordWrap(True)
        self.notice.hide()

        center = QWidget()
        center_layout = QVBoxLayout(center)
        center_layout.addWidget(self.model_bar)
        center_layout.addWidget(self.notice)
        center_layout.addWidget(self.find_bar)
        center_layout.addWidget(self.transcript, 1)
        center_layout.addWidget(self.composer)

        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.conversations)
        splitter.addWidget(center)
        self.template_button = QPushButton("Prompt template…")
        self.template_button.setAccessibleName("Prompt template")
        self.template_button.setToolTip("Chat or completion mode, and the chat template, per model")
        self.template_button.setEnabled(False)
        side = QWidget()
        side_layout = QVBoxLayout(side)
        side_layout.setContentsMargins(0, 0, 10, 10)
        side_layout.addWidget(self.params, 1)
        side_layout.addWidget(self.template_button)
        splitter.addWidget(side)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([220, 700, 290])
        # On a narrow window the conversation matters most: the side panels give way first
        # (they can be dragged back open).
        center.setMinimumWidth(360)
        splitter.setCollapsible(1, False)
        self.splitter = splitter
        self._side = side
        self._auto_collapsed = False
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(splitter)

        self.current: Conversation | None = None
        self._messages: list[Message] = []
        self._engine_ready = False
        self.generating = False

        self.model_bar.load_requested.connect(self.load_model)
        self.model_bar.cancel_load_requested.connect(self.cancel_load)
        self.model_bar.eject_requested.connect(self.unload_model)
        self.conversations.new_requested.connect(self.new_conversation)
        self.conversations.open_requested.connect(self.open_conversation)
        self.conversations.rename_requested.connect(self.rename_conversation)
        self.conversations.delete_requested.connect(self.delete_conversation)
        self.composer.send_requested.connect(self._on_send)
        self.composer.stop_requested.connect(self.stop)
        self.composer.regenerate_requested.connect(self._on_regenerate)
        self.template_button.clicked.connect(self.request_template_info)
        self.template_dialog: TemplateDialog | None = None
        self.load_dialog: LoadDialog | None = None
        self.model_bar.options_requested.connect(self._show_load_dialog)
        self.conversations.action_requested.connect(self.chat_action)
        self.params.action_requested.connect(self.chat_action)
        self.params.overflow.activated.connect(self._options_changed)
        self.transcript.message_action.connect(self._on_message_action)
        self.transcript.message_edited.connect(self._on_message_edited)
        self.composer.attach_requested.connect(self.read_attachments)
        self.file_drop = FileDrop(self)
        for target in (self.transcript.viewport(), self.composer.input.viewport(), self.composer):
            self.file_drop.watch(target)
        self.file_drop.dropped.connect(self.read_attachments)
        self.file_drop.refused.connect(self.show_notice)
        self.file_drop.hovering.connect(self.composer.show_drop_hint)
        finder = self.transcript.finder
        self.find_bar.find_requested.connect(finder.find)
        self.find_bar.step_requested.connect(finder.step)
        self.find_bar.closed.connect(self._find_closed)
        finder.result.connect(self.find_bar.show_result)
        self.shortcuts: dict[str, QShortcut] = {}
        for name, keys in SHORTCUTS.items():
            shortcut = QShortcut(QKeySequence(keys), self)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(getattr(self, "_key_" + name.removesuffix("_alt")))
            self.shortcuts[name] = shortcut

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        narrow = self.width() < 900
        sizes = self.splitter.sizes()
        if narrow and sizes[2] > 0 and not self._auto_collapsed:
            self._auto_collapsed = True
            self.splitter.setSizes([min(sizes[0], 180), sizes[1] + sizes[2], 0])
        elif not narrow and self._auto_collapsed:
            self._auto_collapsed = False
            self.splitter.setSizes([220, max(self.width() - 530, 360), 290])

    def connect_bridge(self, bridge: object) -> None:
        """Wire both directions; the bridge lives in another thread, so calls are queued."""
        b = bridge
        self.list_models.connect(b.list_models)  # type: ignore[attr-defined]
        self.load_model.connect(b.load_model)  # type: ignore[attr-defined]
        self.cancel_load.connect(b.cancel_load)  # type: ignore[attr-defined]
        self.unload_model.connect(b.unload_model)  # type: ignore[attr-defined]
        self.list_conversations.connect(b.list_conversations)  # type: ignore[attr-defined]
        self.new_conversation.connect(b.new_conversation)  # type: ignore[attr-defined]
        self.open_conversation.connect(b.open_conversation)  # type: ignore[attr-defined]
        self.rename_conversation.connect(b.rename_conversation)  # type: ignore[attr-defined]
        self.delete_conversation.connect(b.delete_conversation)  # type: ignore[attr-defined]
        self.send.connect(b.send)  # type: ignore[attr-defined]
        self.regenerate.connect(b.regenerate)  # type: ignore[attr-defined]
        self.stop.connect(b.stop, Qt.ConnectionType.DirectConnection)  # type: ignore[attr-defined]
        self.request_template_info.connect(b.request_template_info)  # type: ignore[attr-defined]
        self.set_template_override.connect(b.set_template_override)  # type: ignore[attr-defined]
        b.template_info.connect(self._show_template_dialog)  # type: ignore[attr-defined]
        self.plan_load.connect(b.plan_load)  # type: ignore[attr-defined]
        self.load_model_with.connect(b.load_model_with)  # type: ignore[attr-defined]
        b.plan_ready.connect(self._on_plan_ready)  # type: ignore[attr-defined]
        b.models_listed.connect(self.model_bar.set_models)  # type: ignore[attr-defined]
        self.model_bar.connect_bridge(b)  # remote models in the picker
        b.engine_changed.connect(self._on_engine_status)  # type: ignore[attr-defined]
        b.load_progress.connect(self.model_bar.set_progress)  # type: ignore[attr-defined]
        b.prompt_mode_changed.connect(self.model_bar.set_prompt_mode)  # type: ignore[attr-defined]
        b.conversations_listed.connect(self._on_conversations)  # type: ignore[attr-defined]
        b.conversation_opened.connect(self._on_opened)  # type: ignore[attr-defined]
        b.reply_started.connect(self._on_reply_started)  # type: ignore[attr-defined]
        b.reply_chunk.connect(self.transcript.append_chunk)  # type: ignore[attr-defined]
        b.reply_finished.connect(self._on_reply_finished)  # type: ignore[attr-defined]
        b.error.connect(self.show_notice)  # type: ignore[attr-defined]
        self.chat_action.connect(b.chat_action)  # type: ignore[attr-defined]
        self.message_action.connect(b.message_action)  # type: ignore[attr-defined]
        self.save_chat_settings.connect(b.save_chat_settings)  # type: ignore[attr-defined]
        self.read_attachments.connect(b.read_attachments)  # type: ignore[attr-defined]
        b.folders_listed.connect(self.conversations.set_folders)  # type: ignore[attr-defined]
        b.trash_listed.connect(self.conversations.set_trash)  # type: ignore[attr-defined]
        b.search_results.connect(self.conversations.show_search)  # type: ignore[attr-defined]
        b.presets_listed.connect(self.params.set_presets)  # type: ignore[attr-defined]
        b.attachments_read.connect(self._on_attachments_read)  # type: ignore[attr-defined]
        b.context_usage.connect(self._on_context_usage)  # type: ignore[attr-defined]
        # Once a model's prompt format is known, the context meter can count.
        b.prompt_mode_changed.connect(self._refresh_context)  # type: ignore[attr-defined]
        # Methods, not lambdas: a lambda connected to a signal of the bridge's thread runs
        # on that thread, and these touch widgets.
        b.exported.connect(self._on_exported)  # type: ignore[attr-defined]
        b.imported.connect(self._on_imported)  # type: ignore[attr-defined]

    def start(self) -> None:
        self.list_models.emit()
        self.list_conversations.emit()
        self.chat_action.emit("list_presets", {})

    # ---------------------------------------------------------------- handlers
    @Slot(list)
    def _on_conversations(self, conversations: list[Conversation]) -> None:
        self.conversations.set_conversations(conversations)
        if self.current is None:
            if conversations:
                self.open_conversation.emit(conversations[0].id)
            else:
                self.new_conversation.emit()

    @Slot(object, list)
    def _on_opened(self, conversation: Conversation, messages: list[Message]) -> None:
        switching = self.current is None or self.current.id != conversation.id
        self.current = conversation
        self._messages = messages
        self.conversations.set_current(conversation.id)
        if switching:
            self.params.set_values(
                conversation.system_prompt, conversation.sampling, conversation.options
            )
            self.composer.set_context(0, 0)
        hint = EMPTY_HINT if self._engine_ready else EMPTY_HINT_NO_MODEL
        self.transcript.show_messages(messages, hint)

    @Slot(int, int)
    def _on_reply_started(self, _conversation_id: int, message_id: int) -> None:
        self.generating = True
        self.composer.set_generating(True)
        self.transcript.begin_stream(message_id)

    @Slot(int, object)
    def _on_reply_finished(self, _message_id: int, _stored: Message | None) -> None:
        self.transcript.end_stream()
        self.generating = False
        self.composer.set_generating(False)
        if self.current is not None:
            self.open_conversation.emit(self.current.id)

    @Slot(object)
    def _on_engine_status(self, status: EngineStatus) -> None:
        self.model_bar.set_status(status)
        self._engine_ready = status.state is EngineState.READY
        self.template_button.setEnabled(self._engine_ready)
        if self._engine_ready:
            self.chat_action.emit("list_presets", {})  # the default preset is per model
        if status.state is EngineState.ERROR:
            self.show_notice(status.message)
        elif status.state in (EngineState.READY, EngineState.LOADING):
            self.notice.hide()

    @Slot(str)
    def show_notice(self, message: str) -> None:
        self.notice.setText(message)
        self.notice.show()

    @Slot(str)
    def _on_exported(self, path: str) -> None:
        self.show_notice(f"Exported to {path}")

    @Slot(object)
    def _on_imported(self, conversation: Conversation) -> None:
        self.open_conversation.emit(conversation.id)

    @Slot(str)
    def _show_load_dialog(self, model_id: str) -> None:
        dialog = LoadDialog(model_id, self)
        self.load_dialog = dialog
        dialog.plan_requested.connect(self.plan_load)
        dialog.load_confirmed.connect(self.load_model_with)
        dialog.open()
        self.plan_load.emit(model_id, {})

    @Slot(str, dict, object, object)
    def _on_plan_ready(self, model_id: str, overrides: dict, params: object, plan: object) -> None:
        if self.load_dialog is not None:
            self.load_dialog.show_plan(model_id, overrides, params, plan)  # type: ignore[arg-type]

    @Slot(object)
    def _show_template_dialog(self, info: object) -> None:
        if self.template_dialog is not None and self.template_dialog.isVisible():
            return  # the dialog asked for a refresh after saving; it is already open
        dialog = TemplateDialog(info, self)
        self.template_dialog = dialog
        dialog.accepted.connect(lambda: self._template_chosen(dialog))
        dialog.open()

    def _template_chosen(self, dialog: TemplateDialog) -> None:
        mode, template = dialog.choice()
        self.set_template_override.emit(dialog.info.model_id, mode, template)  # type: ignore[attr-defined]

    def _on_send(self, text: str) -> None:
        if self.current is None:
            return
        problem = self.params.schema_problem()
        if problem:
            self.composer.input.setPlainText(text)
            self.show_notice(f"Not sent: {problem}")
            return
        self.notice.hide()
        self.send.emit(
            self.current.id,
            text,
            self.params.system_prompt_text(),
            self._sampling(),
            self.params.options(),
            self.composer.take_attachments(),
        )

    def _options_changed(self, _index: int = 0) -> None:
        if self.current is not None:
            args = {"conversation_id": self.current.id, "options": self.params.options()}
            self.chat_action.emit("options", args)

    def _on_message_action(self, name: str, message_id: int) -> None:
        if self.current is None:
            return
        if name in ("regenerate", "continue"):
            if self.generating:
                return
            self.save_chat_settings.emit(
                self.current.id, self.params.system_prompt_text(), self._sampling()
            )
            self._options_changed()
        self.notice.hide()
        self.message_action.emit(name, message_id, "")

    def _on_message_edited(self, message_id: int, text: str) -> None:
        if self.generating:
            self.show_notice("Stop the reply before editing.")
            return
        self.message_action.emit("edit", message_id, text)

    @Slot(list, list)
    def _on_attachments_read(self, files: list[Extracted], problems: list[str]) -> None:
        self.composer.add_attachments(files)
        if problems:
            self.show_notice(" ".join(problems))

    @Slot(str, str)
    def _refresh_context(self, _mode: str = "", _reason: str = "") -> None:
        if self.current is not None and not self.generating:
            self.open_conversation.emit(self.current.id)

    @Slot(int, int, int)
    def _on_context_usage(self, conversation_id: int, used: int, total: int) -> None:
        if self.current is not None and self.current.id == conversation_id:
            self.composer.set_context(used, total)

    # ---------------------------------------------------------------- shortcuts
    def _key_stop(self) -> None:
        if self.generating:
            self.stop.emit()

    def _key_regenerate(self) -> None:
        self._on_regenerate()

    def _key_search(self) -> None:
        self.conversations.search.setFocus()
        self.conversations.search.selectAll()

    def _key_find(self) -> None:
        self.find_bar.open_bar()

    def _key_find_next(self) -> None:
        if self.find_bar.isVisible():
            self.transcript.finder.step(1)

    def _key_find_previous(self) -> None:
        if self.find_bar.isVisible():
            self.transcript.finder.step(-1)

    def _find_closed(self) -> None:
        self.transcript.finder.clear()
        self.composer.input.setFocus()

    def _key_attach(self) -> None:
        self.composer.attach_button.click()

    def _switch_chat(self, step: int) -> None:
        ids = self.conversations.chat_ids()
        if not ids or self.current is None:
            return
        at = ids.index(self.current.id) if self.current.id in ids else -1
        self.open_conversation.emit(ids[(at + step) % len(ids)])

    def _key_next_chat(self) -> None:
        self._switch_chat(1)

    def _key_previous_chat(self) -> None:
        self._switch_chat(-1)

    def _on_regenerate(self) -> None:
        if self.current is None or self.generating:
            return
        if not self.transcript.messages:  # would answer an empty conversation
            self.show_notice("Nothing to regenerate yet: send a message first.")
            return
        self.notice.hide()
        self._options_changed()
        self.regenerate.emit(self.current.id, self.params.system_prompt_text(), self._sampling())

    def _sampling(self) -> SamplingParams:
        return self.params.sampling()
