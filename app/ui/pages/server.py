"""The Server page: the local API server's switch, address, tokens, options and live log.

Plain widgets with no backend calls: every action is a signal to ``ServerBridge`` (its own
thread), and the bridge's queued signals update the page.
"""

from __future__ import annotations

import time
from typing import Any

from PySide6.QtCore import Qt, QUrl, Signal, Slot
from PySide6.QtGui import QDesktopServices, QFontDatabase, QGuiApplication
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.backend.settings import ServerSettings

LOG_COLUMNS = ("Time", "Client", "Method", "Path", "Model", "In", "Out", "Duration", "Status")
MAX_ROWS = 500
ENDPOINTS = (
    "<b>OpenAI</b> (base URL + /v1): models · chat/completions · completions · embeddings<br>"
    "<b>Anthropic</b> (base URL): messages<br>"
    "<b>Ollama</b> (base URL): /api/tags · ps · show · version · chat · generate · embed"
)
STATE_TEXT = {
    "running": "Running",
    "starting": "Starting…",
    "stopping": "Stopping…",
    "stopped": "Stopped",
    "failed": "Failed",
}
PILL_STATE = {"running": "ready", "starting": "loading", "stopping": "loading", "failed": "error"}


def _card(title: str) -> tuple[QFrame, QVBoxLayout]:
    card = QFrame()
    card.setObjectName("card")
    layout = QVBoxLayout(card)
    layout.setContentsMargins(20, 14, 20, 16)
    layout.setSpacing(10)
    heading = QLabel(title)
    heading.setObjectName("sectionTitle")
    layout.addWidget(heading)
    return card, layout


def _help(text: str) -> QLabel:
    label = QLabel(text)
    label.setObjectName("help")
    label.setWordWrap(True)
    return label


def curl_example(base_url: str, model: str = "MODEL_ID", token: bool = False) -> str:
    auth = ' \\\n  -H "Authorization: Bearer $HEARTH_API_TOKEN"' if token else ""
    return (
        f"curl {base_url}/v1/chat/completions{auth} \\\n"
        '  -H "Content-Type: application/json" \\\n'
        f'  -d \'{{"model": "{model}", "messages": [{{"role": "user", "content": "Hello"}}]}}\''
    )


class ServerPage(QWidget):
    running_requested = Signal(bool)
    settings_edited = Signal(dict)
    use_port_requested = Signal(int)
    create_token_requested = Signal(str)
    revoke_token_requested = Signal(str)
    clear_log_requested = Signal()

    def __init__(self, log_folder: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._log_folder = log_folder
        self._state = "stopped"
        self._base_url = ""
        self._token_count = 0
        self._loading_settings = False
        self._example_model = "MODEL_ID"
        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)

        title = QLabel("Local API server")
        title.setObjectName("pageTitle")
        subtitle = QLabel("Let editors, agents, scripts and notebooks use your local models.")
        subtitle.setObjectName("pageSubtitle")
        self.state_pill = QLabel("Stopped")
        self.state_pill.setObjectName("engineState")
        self.toggle = QPushButton("Start server")
        self.toggle.setObjectName("primary")
        self.toggle.setCheckable(True)
        self.toggle.setAccessibleName("Start or stop the API server")
        header_text = QVBoxLayout()
        header_text.addWidget(title)
        header_text.addWidget(subtitle)
        header = QHBoxLayout()
        header.addLayout(header_text, 1)
        header.addWidget(self.state_pill, 0, Qt.AlignmentFlag.AlignVCenter)
        header.addWidget(self.toggle, 0, Qt.AlignmentFlag.AlignVCenter)

        self.notice = QLabel()
        self.notice.setObjectName("notice")
        self.notice.setWordWrap(True)
        self.notice.hide()
        self.use_port_button = QPushButton()
        self.use_port_button.hide()
        notice_row = QHBoxLayout()
        notice_row.addWidget(self.notice, 1)
        notice_row.addWidget(self.use_port_button)

        # -- address
        address, address_layout = _card("Address")
        self.host = QLineEdit()
        self.host.setAccessibleName("Host")
        self.port = QSpinBox()
        self.port.setRange(1, 65535)
        self.port.setAccessibleName("Port")
        self.network = QCheckBox("Serve on local network")
        self.base_url = QLineEdit()
        self.base_url.setReadOnly(True)
        self.base_url.setPlaceholderText("Start the server to get its address")
        self.copy_url = QPushButton("Copy")
        self.copy_url.setAccessibleName("Copy base URL")
        url_row = QHBoxLayout()
        url_row.addWidget(self.base_url, 1)
        url_row.addWidget(self.copy_url)
        form = QFormLayout()
        form.addRow("Host", self.host)
        form.addRow("Port", self.port)
        form.addRow("", self.network)
        form.addRow("Base URL", url_row)
        address_layout.addLayout(form)
        address_layout.addWidget(
            _help(
                "Listens on 127.0.0.1 and ::1 (this computer only) unless you serve the local "
                "network, which needs an API token. Address changes apply on the next start."
            )
        )
        self.curl = QPlainTextEdit()
        self.curl.setReadOnly(True)
        self.curl.setFont(mono)
        self.curl.setFixedHeight(100)
        self.curl.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.curl.setAccessibleName("Example curl command")
        self.copy_curl = QPushButton("Copy curl")
        address_layout.addWidget(self.curl)
        address_layout.addWidget(self.copy_curl, 0, Qt.AlignmentFlag.AlignRight)
        address_layout.addWidget(_help(ENDPOINTS))

        # -- status
        status, status_layout = _card("Status")
        self.status_line = QLabel("Not running.")
        self.loaded_line = QLabel("")
        self.loaded_line.setObjectName("help")
        self.loaded_line.setWordWrap(True)
        status_layout.addWidget(self.status_line)
        status_layout.addWidget(self.loaded_line)

        # -- tokens
        tokens, tokens_layout = _card("API tokens")
        tokens_layout.addWidget(
            _help(
                "Once a token exists, every request needs one (Authorization: Bearer … or "
                "x-api-key). Hearth keeps only a salted hash; a new token is shown once."
            )
        )
        self.token_list = QListWidget()
        self.token_list.setMaximumHeight(84)
        self.token_list.setAccessibleName("API tokens")
        self.token_name = QLineEdit()
        self.token_name.setPlaceholderText("Name, e.g. laptop or ci")
        self.create_token = QPushButton("Create token")
        self.revoke_token = QPushButton("Revoke")
        self.revoke_token.setObjectName("danger")
        token_row = QHBoxLayout()
        token_row.addWidget(self.token_name, 1)
        token_row.addWidget(self.create_token)
        token_row.addWidget(self.revoke_token)
        self.new_token = QLineEdit()
        self.new_token.setReadOnly(True)
        self.new_token.setFont(mono)
        self.new_token.setAccessibleName("New token")
        self.copy_token = QPushButton("Copy")
        self.new_token_note = _help("Copy this token now: it will not be shown again.")
        new_row = QHBoxLayout()
        new_row.addWidget(self.new_token, 1)
        new_row.addWidget(self.copy_token)
        self.new_token_box = QWidget()
        new_box = QVBoxLayout(self.new_token_box)
        new_box.setContentsMargins(0, 0, 0, 0)
        new_box.addWidget(self.new_token_note)
        new_box.addLayout(new_row)
        self.new_token_box.hide()
        tokens_layout.addWidget(self.token_list)
        tokens_layout.addLayout(token_row)
        tokens_layout.addWidget(self.new_token_box)

        # -- options
        options, options_layout = _card("Options")
        self.jit = QCheckBox("Load models on demand (just in time)")
        self.idle_ttl = QSpinBox()
        self.idle_ttl.setRange(0, 10_080)
        self.idle_ttl.setSuffix(" min")
        self.idle_ttl.setSpecialValueText("Never")
        self.cors = QLineEdit()
        self.cors.setPlaceholderText("https://notebook.example, http://localhost:3000")
        self.log_prompts = QCheckBox("Log prompt text")
        self.auto_start = QCheckBox("Start the server when Hearth opens")
        options_form = QFormLayout()
        options_form.addRow("", self.jit)
        options_form.addRow("Unload idle on-demand models after", self.idle_ttl)
        options_form.addRow("Allowed web origins (CORS)", self.cors)
        options_form.addRow("", self.log_prompts)
        options_form.addRow("", self.auto_start)
        options_layout.addLayout(options_form)

        # -- log
        log, log_layout = _card("Request log")
        self.log_table = QTableWidget(0, len(LOG_COLUMNS))
        self.log_table.setHorizontalHeaderLabels(list(LOG_COLUMNS))
        self.log_table.verticalHeader().hide()
        self.log_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.log_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.log_table.setMinimumHeight(220)
        head = self.log_table.horizontalHeader()
        head.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        head.setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        self.clear_log = QPushButton("Clear")
        self.open_logs = QPushButton("Open log folder")
        log_buttons = QHBoxLayout()
        log_buttons.addWidget(_help("Also written to logs/server.log under the data folder."), 1)
        log_buttons.addWidget(self.clear_log)
        log_buttons.addWidget(self.open_logs)
        log_layout.addWidget(self.log_table)
        log_layout.addLayout(log_buttons)

        column = QVBoxLayout()
        column.setContentsMargins(28, 22, 28, 28)
        column.setSpacing(14)
        column.addLayout(header)
        column.addLayout(notice_row)
        top = QHBoxLayout()
        top.setSpacing(14)
        left = QVBoxLayout()
        left.addWidget(address)
        left.addStretch(1)
        right = QVBoxLayout()
        right.addWidget(status)
        right.addWidget(tokens)
        right.addWidget(options)
        right.addStretch(1)
        top.addLayout(left, 1)
        top.addLayout(right, 1)
        column.addLayout(top)
        column.addWidget(log)
        inner = QWidget()
        inner.setLayout(column)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(inner)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)

        self.toggle.clicked.connect(self._toggle_clicked)
        self.copy_url.clicked.connect(lambda: self._copy(self.base_url.text()))
        self.copy_curl.clicked.connect(lambda: self._copy(self.curl.toPlainText()))
        self.copy_token.clicked.connect(lambda: self._copy(self.new_token.text()))
        self.create_token.clicked.connect(self._create_token)
        self.token_name.returnPressed.connect(self._create_token)
        self.revoke_token.clicked.connect(self._revoke_token)
        self.token_list.currentRowChanged.connect(self._update_buttons)
        self.use_port_button.clicked.connect(self._use_port)
        self.clear_log.clicked.connect(self._clear_log)
        self.open_logs.clicked.connect(self._open_logs)
        self.host.editingFinished.connect(lambda: self._edit("host", self.host.text().strip()))
        self.port.editingFinished.connect(lambda: self._edit("port", self.port.value()))
        self._address_typed = False
        self.host.textChanged.connect(self._address_edited)
        self.port.valueChanged.connect(self._address_edited)
        self.network.toggled.connect(lambda on: self._edit("serve_on_network", on))
        self.jit.toggled.connect(lambda on: self._edit("jit_loading", on))
        self.idle_ttl.editingFinished.connect(
            lambda: self._edit("idle_ttl_minutes", self.idle_ttl.value())
        )
        self.cors.editingFinished.connect(self._cors_edited)
        self.log_prompts.toggled.connect(lambda on: self._edit("log_prompts", on))
        self.auto_start.toggled.connect(lambda on: self._edit("auto_start", on))
        self._update_curl()
        self._update_buttons()

    # -------------------------------------------------------------- wiring
    def connect_bridge(self, bridge: Any) -> None:
        """Queued connections both ways (the bridge lives in its own thread)."""
        self.running_requested.connect(bridge.set_running)
        self.settings_edited.connect(bridge.update_settings)
        self.use_port_requested.connect(bridge.use_port)
        self.create_token_requested.connect(bridge.create_token)
        self.revoke_token_requested.connect(bridge.revoke_token)
        self.clear_log_requested.connect(bridge.clear_log)
        bridge.state_changed.connect(self.show_state)
        bridge.port_busy.connect(self.show_port_busy)
        bridge.stats.connect(self.show_stats)
        bridge.log_entries.connect(self.add_log_entries)
        bridge.tokens_changed.connect(self.show_tokens)
        bridge.token_created.connect(self.show_new_token)
        bridge.settings_changed.connect(self.show_settings)
        bridge.error.connect(self.show_error)

    # -------------------------------------------------------------- slots in
    @Slot(str, str, str)
    def show_state(self, state: str, message: str, base_url: str) -> None:
        self._state = state
        self._base_url = base_url
        running = state == "running"
        self.state_pill.setText(STATE_TEXT.get(state, state))
        self.state_pill.setProperty("state", PILL_STATE.get(state, ""))
        self.state_pill.style().unpolish(self.state_pill)
        self.state_pill.style().polish(self.state_pill)
        self.toggle.setChecked(running)
        self.toggle.setText("Stop server" if running else "Start server")
        self.toggle.setEnabled(state not in ("starting", "stopping"))
        self.base_url.setText(base_url)
        if running:
            self.status_line.setText(f"Running at {base_url}")
            self.notice.hide()
            self.use_port_button.hide()
        else:
            self.status_line.setText("Not running." if state != "failed" else message)
            self.loaded_line.setText("")
        self._update_curl()

    @Slot(int, int)
    def show_port_busy(self, port: int, suggestion: int) -> None:
        text = f"Port {port} is already in use by another program."
        if suggestion:
            text += f" Port {suggestion} is free."
            self.use_port_button.setText(f"Use port {suggestion}")
            self.use_port_button.setProperty("port", suggestion)
            self.use_port_button.show()
        self.notice.setText(text)
        self.notice.show()

    @Slot(dict)
    def show_stats(self, stats: dict) -> None:
        self.status_line.setText(
            f"Running at {self._base_url} · {stats['running']} in flight · "
            f"{stats['queued']} queued · {stats['served']} served"
        )
        loaded = stats.get("loaded") or []
        if loaded:
            parts = [f"{m['id']} ({m['in_flight']} busy)" for m in loaded]
            self.loaded_line.setText("Loaded: " + ", ".join(parts))
            if self._example_model != loaded[0]["id"]:
                self._example_model = loaded[0]["id"]
                self._update_curl()
        else:
            self.loaded_line.setText("No model loaded: the first request loads one.")

    @Slot(list)
    def add_log_entries(self, entries: list) -> None:
        table = self.log_table
        at_bottom = table.verticalScrollBar().value() >= table.verticalScrollBar().maximum() - 2
        for entry in entries:
            row = table.rowCount()
            table.insertRow(row)
            values = (
                time.strftime("%H:%M:%S", time.localtime(entry["time"])),
                entry["client"],
                entry["method"],
                entry["path"],
                f"{entry['model']} (fallback)" if entry.get("fallback") else entry["model"],
                str(entry["tokens_in"] or ""),
                str(entry["tokens_out"] or ""),
                f"{entry['duration_ms']:.0f} ms",
                str(entry["status"]),
            )
            for column, value in enumerate(values):
                item = QTableWidgetItem(value)
                if entry.get("prompt") and column == 3:
                    item.setToolTip(entry["prompt"][:1000])
                if entry.get("fallback") and column == 4:
                    item.setToolTip(entry["fallback"])  # "Answered by …: … is not loaded."
                table.setItem(row, column, item)
        excess = table.rowCount() - MAX_ROWS
        for _ in range(max(0, excess)):
            table.removeRow(0)
        if at_bottom:
            table.scrollToBottom()

    @Slot(list)
    def show_tokens(self, tokens: list) -> None:
        self.token_list.clear()
        for token in tokens:
            created = time.strftime("%Y-%m-%d", time.localtime(token["created"]))
            item = QListWidgetItem(f"{token['name']}   ·   id {token['id']}   ·   {created}")
            item.setData(Qt.ItemDataRole.UserRole, token["id"])
            self.token_list.addItem(item)
        self._token_count = len(tokens)
        self._update_buttons()
        self._update_curl()

    @Slot(str, str)
    def show_new_token(self, name: str, token: str) -> None:
        self.new_token_note.setText(f"Token '{name}': copy it now, it will not be shown again.")
        self.new_token.setText(token)
        self.new_token_box.show()
        self.token_name.clear()

    @Slot(object)
    def show_settings(self, settings: ServerSettings) -> None:
        self._loading_settings = True
        try:
            self.host.setText(settings.host)
            self.port.setValue(settings.port)
            self.network.setChecked(settings.serve_on_network)
            self.jit.setChecked(settings.jit_loading)
            self.idle_ttl.setValue(settings.idle_ttl_minutes)
            self.cors.setText(", ".join(settings.cors_origins))
            self.log_prompts.setChecked(settings.log_prompts)
            self.auto_start.setChecked(settings.auto_start)
        finally:
            self._loading_settings = False

    @Slot(str)
    def show_error(self, message: str) -> None:
        self.notice.setText(message)
        self.notice.show()
        self.use_port_button.hide()
        if self._state != "running":
            self.toggle.setChecked(False)

    # ------------------------------------------------------------ internals
    def _toggle_clicked(self, checked: bool) -> None:
        self.toggle.setEnabled(False)
        self.notice.hide()
        if checked and self._address_typed:  # typed, but no Enter or focus change yet
            self._edit("host", self.host.text().strip())
            self._edit("port", self.port.value())
        self._address_typed = False
        self.running_requested.emit(checked)

    def _address_edited(self) -> None:
        if not self._loading_settings:
            self._address_typed = True

    def _edit(self, key: str, value: Any) -> None:
        if not self._loading_settings:
            self.settings_edited.emit({key: value})

    def _cors_edited(self) -> None:
        origins = [o.strip() for o in self.cors.text().replace(" ", ",").split(",") if o.strip()]
        self._edit("cors_origins", origins)

    def _create_token(self) -> None:
        name = self.token_name.text().strip()
        if name:
            self.create_token_requested.emit(name)

    def _revoke_token(self) -> None:
        item = self.token_list.currentItem()
        if item is not None:
            self.revoke_token_requested.emit(str(item.data(Qt.ItemDataRole.UserRole)))
            self.new_token_box.hide()

    def _use_port(self) -> None:
        port = int(self.use_port_button.property("port") or 0)
        if port:
            self.port.setValue(port)
            self.notice.hide()
            self.use_port_button.hide()
            self.use_port_requested.emit(port)

    def _clear_log(self) -> None:
        self.log_table.setRowCount(0)
        self.clear_log_requested.emit()

    def _open_logs(self) -> None:
        if self._log_folder:
            QDesktopServices.openUrl(QUrl.fromLocalFile(self._log_folder))

    def _copy(self, text: str) -> None:
        if text:
            QGuiApplication.clipboard().setText(text)

    def _update_buttons(self) -> None:
        self.revoke_token.setEnabled(self.token_list.currentRow() >= 0)
        self.network.setEnabled(self._token_count > 0 or self.network.isChecked())
        self.network.setToolTip(
            "" if self._token_count else "Create an API token first: the network needs one."
        )

    def _update_curl(self) -> None:
        base = self._base_url or f"http://127.0.0.1:{self.port.value()}"
        example = curl_example(base, self._example_model, token=self._token_count > 0)
        self.curl.setPlainText(example)
