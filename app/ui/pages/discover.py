"""Discover: search the Hub, see which files fit this machine, download them verifiably.

Widgets only: every answer comes from ``ModelsBridge`` signals, every request leaves as a
signal. Fit verdicts arrive one by one as the remote headers are read.
"""

from __future__ import annotations

from datetime import datetime

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from app.backend.downloads import DownloadRecord
from app.backend.hub import (
    SORTS,
    FileChoice,
    FitEstimate,
    GGUFEntry,
    ModelSummary,
    RepoDetails,
    TokenStatus,
    fit_sort_key,
    fits,
    recommend,
    result_sort_key,
)
from app.backend.units import human_size
from app.ui.pages.downloads import DownloadRow, wire_download_actions
from app.ui.theme import current_colors

TABLE_STYLE = """
QTableView, QTableWidget { background: palette(base); border: 1px solid palette(mid);
    border-radius: 8px; alternate-background-color: palette(window); }
QTableView::item:selected, QTableWidget::item:selected { background: palette(midlight);
    color: palette(text); }
QHeaderView::section { background: palette(window); color: palette(window-text);
    border: none; border-bottom: 1px solid palette(mid); padding: 5px 8px; text-align: left;
    font-weight: 600; }
"""
FIT_COLOURS = {"full_gpu": "success", "partial": "info", "cpu_only": "warning_text"}
FIT_SORT = "fit"  # ordered here by verdict; the Hub is asked for its most downloaded
RESULT_ORDER_ROLE = Qt.ItemDataRole.UserRole + 1  # position in the Hub's answer


def human_count(n: int) -> str:
    if n >= 1_000_000:
        return f"{n / 1e6:.1f}M"
    if n >= 1000:
        return f"{n / 1e3:.1f}k"
    return str(n)


def _when(dt: datetime | None) -> str:
    return dt.strftime("%Y-%m-%d") if dt else "unknown"


class TokenDialog(QDialog):
    """Enter or forget the Hugging Face token (stored in the system keyring only)."""

    def __init__(self, status: TokenStatus | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Hugging Face token")
        self.setMinimumWidth(460)
        lay = QVBoxLayout(self)
        intro = QLabel(
            "Gated models (Llama, Gemma…) need a Hugging Face access token after you accept "
            "their terms on huggingface.co. Hearth keeps it in your system keyring."
        )
        intro.setWordWrap(True)
        lay.addWidget(intro)
        self.state = QLabel(self._describe(status))
        self.state.setObjectName("muted")
        self.state.setWordWrap(True)
        lay.addWidget(self.state)
        self.edit = QLineEdit()
        self.edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.edit.setPlaceholderText("hf_…")
        lay.addWidget(self.edit)
        buttons = QDialogButtonBox()
        self.save = buttons.addButton("Save", QDialogButtonBox.ButtonRole.AcceptRole)
        self.save.setObjectName("primary")
        self.forget = buttons.addButton("Forget token", QDialogButtonBox.ButtonRole.DestructiveRole)
        buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        buttons.rejected.connect(self.reject)
        self.save.clicked.connect(self.accept)
        self.forget.clicked.connect(lambda: self.done(2))
        lay.addWidget(buttons)

    @staticmethod
    def _describe(status: TokenStatus | None) -> str:
        if status is None:
            return "Checking the keyring…"
        where = {"environment": "from HF_TOKEN", "keyring": f"in {status.backend.name}",
                 "file": "in a private file (no keyring)"}.get(status.source, "")  # fmt: skip
        head = f"A token is set {where}." if status.has_token else "No token is set."
        if not status.backend.usable:
            head += f" {status.backend.reason}"
        return head


class DiscoverPage(QWidget):
    # --- requests to the bridge
    search = Signal(str, str)
    more_results = Signal()
    open_repo = Signal(str)
    check_result_fits = Signal(list)  # repo ids: which have a file that fits here
    download = Signal(str, str)
    pause_download = Signal(str)
    resume_download = Signal(str)
    cancel_download = Signal(str)
    remove_download = Signal(str)
    load_downloaded = Signal(str)
    list_downloads = Signal()
    request_token_status = Signal()
    set_token = Signal(str, bool)
    answer_consent = Signal(str, bool)  # token, allowed: remembered in settings
    clear_token = Signal()

    COLUMNS = ("File", "Quant", "Size", "Fit on this machine", "Memory", "", "")
    BADGE_COLUMN = 6  # shown second (moved visually), so the other columns keep their index
    RECOMMENDED = "★ Best"  # short: a wide badge column left "gemm…gguf" of the names

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Discover")
        self._serial = 0
        self._details: RepoDetails | None = None
        self._fits: dict[str, FitEstimate] = {}
        self._result_fits: dict[str, FitEstimate | None] = {}
        self._summaries: dict[str, ModelSummary] = {}
        self._searched = False  # a text search has been shown: a new sort re-runs it
        self.recommended: str | None = None
        self._rows: dict[str, DownloadRow] = {}
        self._token_status: TokenStatus | None = None
        self.ask_consent = self._ask_consent  # replaceable in tests (a modal dialog)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(24, 18, 24, 16)
        outer.setSpacing(10)

        head = QHBoxLayout()
        titles = QVBoxLayout()
        title = QLabel("Discover")
        title.setObjectName("pageTitle")
        subtitle = QLabel("GGUF models from Hugging Face, checked against this machine.")
        subtitle.setObjectName("pageSubtitle")
        titles.addWidget(title)
        titles.addWidget(subtitle)
        head.addLayout(titles, 1)
        self.token_button = QPushButton("Hugging Face token…")
        self.token_button.clicked.connect(self._edit_token)
        head.addWidget(self.token_button, 0, Qt.AlignmentFlag.AlignTop)
        outer.addLayout(head)

        row = QHBoxLayout()
        self.query = QLineEdit()
        self.query.setPlaceholderText("Search models, or paste user/repo or a Hugging Face link")
        self.query.setClearButtonEnabled(True)
        self.query.returnPressed.connect(self._search)
        self.sort = QComboBox()
        self.sort.setAccessibleName("Sort results")
        for key, label in SORTS.items():
            self.sort.addItem(label, key)
        self.sort.addItem("Best fit for this machine", FIT_SORT)
        self.sort.setItemData(
            self.sort.count() - 1,
            "Models whose best file runs fully on the GPU first, then partly, then on the "
            "CPU (judged by file size); most downloaded first within each.",
            Qt.ItemDataRole.ToolTipRole,
        )
        self.sort.currentIndexChanged.connect(self._on_sort_changed)
        self.search_button = QPushButton("Search")
        self.search_button.setObjectName("primary")
        self.search_button.clicked.connect(self._search)
        self.results_fit_only = QCheckBox("Fits this machine")
        self.results_fit_only.setToolTip(
            "Only models with a file that fits this machine (judged by file size)"
        )
        self.results_fit_only.toggled.connect(self._on_results_filter)
        row.addWidget(self.query, 1)
        row.addWidget(self.results_fit_only)
        row.addWidget(self.sort)
        row.addWidget(self.search_button)
        outer.addLayout(row)

        self.notice = QLabel()
        self.notice.setObjectName("notice")
        self.notice.setWordWrap(True)
        self.notice.hide()
        outer.addWidget(self.notice)

        split = QSplitter(Qt.Orientation.Horizontal)
        left = QWidget()
        left_lay = QVBoxLayout(left)
        left_lay.setContentsMargins(0, 0, 0, 0)
        self.results = QListWidget()
        self.results.setAccessibleName("Search results")
        self.results.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.results.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.results.itemActivated.connect(self._open_item)
        self.results.itemClicked.connect(self._open_item)
        self.results_status = QLabel("Type a search to find GGUF models.")
        self.results_status.setObjectName("muted")
        self.more = QPushButton("Load more")
        self.more.hide()
        self.more.clicked.connect(self.more_results.emit)
        left_lay.addWidget(self.results, 1)
        left_lay.addWidget(self.results_status)
        left_lay.addWidget(self.more)
        split.addWidget(left)
        split.addWidget(self._build_model_panel())
        split.setStretchFactor(0, 2)
        split.setStretchFactor(1, 5)
        split.setSizes([260, 760])
        outer.addWidget(split, 3)

        dl_head = QLabel("Downloads")
        dl_head.setObjectName("sectionTitle")
        outer.addWidget(dl_head)
        self.downloads_empty = QLabel("Nothing downloading. Pick a file above to get it.")
        self.downloads_empty.setObjectName("muted")
        outer.addWidget(self.downloads_empty)
        self.downloads_box = QVBoxLayout()
        self.downloads_box.setSpacing(6)
        outer.addLayout(self.downloads_box)

    def _build_model_panel(self) -> QWidget:
        panel = QFrame()
        panel.setObjectName("card")
        lay = QVBoxLayout(panel)
        lay.setContentsMargins(16, 12, 16, 12)
        self.repo_title = QLabel("No model selected")
        self.repo_title.setObjectName("emptyTitle")
        self.repo_title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.repo_meta = QLabel("Pick a search result, or paste a user/repo name above.")
        self.repo_meta.setObjectName("muted")
        self.repo_meta.setWordWrap(True)
        lay.addWidget(self.repo_title)
        lay.addWidget(self.repo_meta)
        controls = QHBoxLayout()
        self.fits_only = QCheckBox("Only files that fit this machine")
        self.fits_only.setToolTip("Hide files the planner says are too large for this machine.")
        self.fits_only.toggled.connect(lambda _on: self._apply_filter())
        self.file_order = QComboBox()
        self.file_order.setAccessibleName("Order files")
        self.file_order.addItem("Order: size", "size")
        self.file_order.addItem("Order: best fit first", "fit")
        self.file_order.currentIndexChanged.connect(lambda _i: self._render_files())
        controls.addWidget(self.fits_only)
        controls.addStretch(1)
        controls.addWidget(self.file_order)
        lay.addLayout(controls)
        self.tabs = QTabWidget()
        self.files = QTableWidget(0, len(self.COLUMNS))
        self.files.setHorizontalHeaderLabels(self.COLUMNS)
        self.files.verticalHeader().hide()
        self.files.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.files.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.files.setShowGrid(False)
        self.files.setAlternatingRowColors(True)
        header = self.files.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for col in range(1, len(self.COLUMNS)):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        header.moveSection(self.BADGE_COLUMN, 1)
        self.files.setAccessibleName("Model files")
        self.files.setStyleSheet(TABLE_STYLE)
        self.files.setWordWrap(False)
        # Names share their start ("gemma-3-270m-…"): keep the end, where the quant is.
        self.files.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        self.card = QTextBrowser()
        self.card.setOpenExternalLinks(True)
        self.card.setAccessibleName("Model card")
        self.tabs.addTab(self.files, "Files")
        self.tabs.addTab(self.card, "Model card")
        lay.addWidget(self.tabs, 1)
        return panel

    # ------------------------------------------------------------------ wiring
    def connect_bridge(self, b: object) -> None:
        """Both directions; the bridge lives in another thread so these are queued."""
        self.search.connect(b.search)  # type: ignore[attr-defined]
        self.more_results.connect(b.more_results)  # type: ignore[attr-defined]
        self.open_repo.connect(b.open_repo)  # type: ignore[attr-defined]
        self.check_result_fits.connect(b.check_result_fits)  # type: ignore[attr-defined]
        wire_download_actions(self, b)
        b.result_fit.connect(self.show_result_fit)  # type: ignore[attr-defined]
        self.download.connect(b.download)  # type: ignore[attr-defined]
        self.request_token_status.connect(b.request_token_status)  # type: ignore[attr-defined]
        self.set_token.connect(b.set_token)  # type: ignore[attr-defined]
        self.answer_consent.connect(b.answer_consent)  # type: ignore[attr-defined]
        self.clear_token.connect(b.clear_token)  # type: ignore[attr-defined]
        b.search_results.connect(self.show_results)  # type: ignore[attr-defined]
        b.repo_opened.connect(self.show_repo)  # type: ignore[attr-defined]
        b.readme_ready.connect(self.show_readme)  # type: ignore[attr-defined]
        b.fit_ready.connect(self.show_fit)  # type: ignore[attr-defined]
        b.token_status.connect(self._on_token_status)  # type: ignore[attr-defined]
        b.token_needs_consent.connect(self._on_needs_consent)  # type: ignore[attr-defined]
        b.error.connect(self.show_notice)  # type: ignore[attr-defined]
        self.list_downloads.emit()
        self.request_token_status.emit()

    # ------------------------------------------------------------------ search
    def _search(self) -> None:
        text = self.query.text().strip()
        if "/" in text and " " not in text:  # a pasted user/repo or link opens the page
            self.repo_title.setText(text.rstrip("/").split("huggingface.co/")[-1])
            self.repo_meta.setText("Loading files…")
        else:
            self.results_status.setText("Searching…")
        sort = self.sort.currentData()
        self.search.emit(text, "downloads" if sort == FIT_SORT else sort)

    def _sorting_by_fit(self) -> bool:
        return bool(self.sort.currentData() == FIT_SORT)

    def _on_sort_changed(self, _index: int) -> None:
        """A new order applies to the results on screen at once, as a user expects."""
        if self._searched and self.query.text().strip():
            self._search()

    @Slot(int, list, bool)
    def show_results(self, serial: int, models: list[ModelSummary], more: bool) -> None:
        if serial > 0:
            self.results.clear()
        self._searched = True
        first = self.results.count()
        for offset, m in enumerate(models):
            self._summaries[m.repo_id] = m
            item = QListWidgetItem(self._result_text(m.repo_id))
            item.setData(Qt.ItemDataRole.UserRole, m.repo_id)
            item.setData(RESULT_ORDER_ROLE, first + offset)
            item.setToolTip(m.repo_id)
            self.results.addItem(item)
            if self._details is not None and self._details.repo_id == m.repo_id:
                self.results.setCurrentItem(item)  # the open model stays marked after a re-sort
        count = self.results.count()
        self.results_status.setText(
            f"{count} model{'s' if count != 1 else ''}" if count else "No GGUF models found."
        )
        self.more.setVisible(more)
        if self.results_fit_only.isChecked() or self._sorting_by_fit():
            self.check_result_fits.emit([m.repo_id for m in models])
        self._order_results()

    def _result_text(self, repo_id: str) -> str:
        """Name, popularity, and once known how the repo's best file would run here."""
        m = self._summaries[repo_id]
        text = (
            f"{m.repo_id}\n↓ {human_count(m.downloads)}  ·  ♥ {human_count(m.likes)}  ·  "
            f"{_when(m.last_modified)}{'  ·  gated' if m.gated else ''}"
        )
        if repo_id in self._result_fits:
            fit = self._result_fits[repo_id]
            # The verdict only: a size-based memory figure here would disagree with the
            # header-based one on the model page.
            text += f"\n{fit.label}" if fit else "\nNo model file"
        return text

    def _order_results(self) -> None:
        """Best fit first when that sort is chosen (Hub order within a verdict, unknown last)."""
        if not self._sorting_by_fit():
            return

        def key(item: QListWidgetItem) -> tuple[int, int]:
            repo_id = item.data(Qt.ItemDataRole.UserRole)
            checked = repo_id in self._result_fits
            fit = self._result_fits.get(repo_id)
            return result_sort_key(fit, checked, int(item.data(RESULT_ORDER_ROLE)))

        items = self._result_items()
        ordered = sorted(items, key=key)
        if ordered == items:
            return
        current = self.results.currentItem()
        while self.results.count():
            self.results.takeItem(0)
        for item in ordered:
            self.results.addItem(item)
        if current is not None:
            self.results.setCurrentItem(current)
        self._apply_results_filter()  # a moved row loses its hidden flag in Qt

    def _result_items(self) -> list[QListWidgetItem]:
        return [self.results.item(i) for i in range(self.results.count())]

    def _on_results_filter(self, on: bool) -> None:
        if on:
            self.check_result_fits.emit(
                [str(i.data(Qt.ItemDataRole.UserRole)) for i in self._result_items()]
            )
        self._apply_results_filter()

    @Slot(str, object)
    def show_result_fit(self, repo_id: str, fit: FitEstimate | None) -> None:
        self._result_fits[repo_id] = fit
        for item in self._result_items():
            if item.data(Qt.ItemDataRole.UserRole) == repo_id:
                item.setText(self._result_text(repo_id))
                item.setToolTip(
                    f"{repo_id}\n{fit.label}, judged by file size; open it for the "
                    "estimate from the model's header"
                    if fit
                    else f"{repo_id}\nNo GGUF model file"
                )
        self._apply_results_filter()
        self._order_results()

    def _apply_results_filter(self) -> None:
        """Hide results known not to fit (or with no model file); unknown ones stay."""
        only = self.results_fit_only.isChecked()
        for item in self._result_items():
            repo_id = item.data(Qt.ItemDataRole.UserRole)
            known = repo_id in self._result_fits
            item.setHidden(only and known and not fits(self._result_fits[repo_id]))

    def visible_results(self) -> list[str]:
        return [
            str(i.data(Qt.ItemDataRole.UserRole)) for i in self._result_items() if not i.isHidden()
        ]

    def _open_item(self, item: QListWidgetItem) -> None:
        repo_id = item.data(Qt.ItemDataRole.UserRole)
        if self._details is None or self._details.repo_id != repo_id:
            self.repo_title.setText(repo_id)
            self.repo_meta.setText("Loading files…")
            self.open_repo.emit(repo_id)

    # ------------------------------------------------------------------ model page
    @Slot(object)
    def show_repo(self, details: RepoDetails) -> None:
        self._details = details
        self.notice.hide()
        self.repo_title.setText(details.repo_id)
        gated = " · gated (needs a token)" if details.gated else ""
        self.repo_meta.setText(
            f"↓ {human_count(details.downloads)} downloads · ♥ {human_count(details.likes)} · "
            f"updated {_when(details.last_modified)} · {len(details.models)} GGUF file(s)"
            f"{gated}"
        )
        self.card.setMarkdown("*Loading the model card…*")
        self._fits = {}
        self._render_files()

    def _choices(self) -> list[FileChoice]:
        entries = self._details.entries if self._details else []
        return [
            FileChoice(e.label, e.quant, e.size, self._fits.get(e.label))
            for e in entries
            if not e.is_mmproj
        ]

    def _render_files(self) -> None:
        """(Re)build the table in the chosen order; fits known so far are shown at once."""
        self.files.setRowCount(0)
        if self._details is None:
            return
        entries = list(self._details.entries)
        if self.file_order.currentData() == "fit":
            keys = {c.label: fit_sort_key(c) for c in self._choices()}
            entries.sort(key=lambda e: (e.is_mmproj, keys.get(e.label, (9, 0, e.label))))
        for entry in entries:
            self._add_entry(entry)
            fit = self._fits.get(entry.label)
            if fit is not None:
                self._show_fit_cells(self._row_of(entry.label), fit)
        self._update_recommended()
        self._apply_filter()

    def _update_recommended(self) -> None:
        """One "Recommended" badge: the best file for this machine among those checked."""
        self.recommended = recommend(self._choices())
        for row in range(self.files.rowCount()):
            label_item = self.files.item(row, 0)
            badge = self.files.item(row, self.BADGE_COLUMN)
            if label_item is None or badge is None:
                continue
            chosen = label_item.data(Qt.ItemDataRole.UserRole) == self.recommended
            badge.setText(self.RECOMMENDED if chosen else "")
            badge.setToolTip(
                "Recommended for this machine: the largest file that fits fully on the GPU, "
                "else the largest that runs at all (quantized files before full precision)."
                if chosen
                else ""
            )
            if chosen:
                badge.setForeground(QColor(current_colors().success))

    def _apply_filter(self) -> None:
        only = self.fits_only.isChecked()
        for row in range(self.files.rowCount()):
            item = self.files.item(row, 0)
            label = item.data(Qt.ItemDataRole.UserRole) if item is not None else None
            fit = self._fits.get(label) if label else None
            self.files.setRowHidden(row, only and fit is not None and not fits(fit))

    def visible_labels(self) -> list[str]:
        """File labels as shown, top to bottom (hidden rows left out)."""
        out = []
        for row in range(self.files.rowCount()):
            item = self.files.item(row, 0)
            if item is not None and not self.files.isRowHidden(row):
                out.append(str(item.data(Qt.ItemDataRole.UserRole)))
        return out

    def _add_entry(self, entry: GGUFEntry) -> None:
        row = self.files.rowCount()
        self.files.insertRow(row)
        shown = entry.label.removesuffix(".gguf")  # every file here is one; the tooltip has it
        name = shown + (f"  ({len(entry.parts)} parts)" if entry.is_split else "")
        cells = [
            name,
            "projector" if entry.is_mmproj else entry.quant,
            human_size(entry.size),
            "vision projector" if entry.is_mmproj else "checking…",
            "",
            "",
            "",
        ]
        for col, text in enumerate(cells):
            if col == 5:
                continue  # the Download button
            item = QTableWidgetItem(text)
            item.setData(Qt.ItemDataRole.UserRole, entry.label)
            if col == 0:
                item.setToolTip("\n".join(p.path for p in entry.parts))
            self.files.setItem(row, col, item)
        button = QPushButton("Download")
        button.setAccessibleName(f"Download {entry.label}")
        repo = self._details.repo_id if self._details else ""
        button.clicked.connect(lambda: self._download(repo, entry.label))
        if not entry.complete:
            button.setEnabled(False)
            button.setToolTip("Some split parts are missing from this repo.")
        self.files.setCellWidget(row, 5, button)

    def _download(self, repo_id: str, label: str) -> None:
        self.download.emit(repo_id, label)

    def _row_of(self, label: str) -> int:
        for row in range(self.files.rowCount()):
            item = self.files.item(row, 0)
            if item is not None and item.data(Qt.ItemDataRole.UserRole) == label:
                return row
        return -1

    @Slot(str, str, object)
    def show_fit(self, repo_id: str, label: str, fit: FitEstimate) -> None:
        if self._details is None or self._details.repo_id != repo_id:
            return
        self._fits[label] = fit
        if self.file_order.currentData() == "fit":
            self._render_files()
            return
        row = self._row_of(label)
        if row < 0:
            return
        self._show_fit_cells(row, fit)
        self._update_recommended()
        self._apply_filter()

    def _show_fit_cells(self, row: int, fit: FitEstimate) -> None:
        colours = current_colors()
        verdict = self.files.item(row, 3)
        memory = self.files.item(row, 4)
        assert verdict is not None and memory is not None
        verdict.setText(fit.label + ("" if fit.from_header else " (by size)"))
        verdict.setForeground(QColor(getattr(colours, FIT_COLOURS.get(fit.verdict, "danger"))))
        ctx = f"{fit.n_ctx // 1024}k" if fit.n_ctx >= 1024 else str(fit.n_ctx)
        memory.setText(f"≈ {human_size(fit.memory_bytes)} · {ctx} ctx")
        memory.setToolTip(fit.note or "Weights, KV cache and compute buffers (planner estimate).")

    @Slot(str, str)
    def show_readme(self, repo_id: str, markdown: str) -> None:
        if self._details is not None and self._details.repo_id == repo_id:
            self.card.setMarkdown(markdown or "*This repo has no model card.*")

    # ------------------------------------------------------------------ downloads
    @Slot(list)
    def show_downloads(self, records: list[DownloadRecord]) -> None:
        for rid in list(self._rows):
            if rid not in {r.id for r in records}:
                self._rows.pop(rid).deleteLater()
        for r in records:
            self.show_download(r)
        self.downloads_empty.setVisible(not self._rows)

    @Slot(object)
    def show_download(self, record: DownloadRecord) -> None:
        row = self._rows.get(record.id)
        if row is None:
            row = DownloadRow(record, self)
            self._rows[record.id] = row
            self.downloads_box.insertWidget(0, row)
        else:
            row.update_record(record)
        self.downloads_empty.setVisible(False)
        if record.status == "quarantined":
            self.show_notice(record.error)

    # ------------------------------------------------------------------ token
    def _edit_token(self) -> None:
        dialog = TokenDialog(self._token_status, self)
        result = dialog.exec()
        if result == QDialog.DialogCode.Accepted and dialog.edit.text().strip():
            self._pending_token = dialog.edit.text().strip()
            self.set_token.emit(self._pending_token, False)
        elif result == 2:
            self.clear_token.emit()

    @Slot(object)
    def _on_token_status(self, status: TokenStatus) -> None:
        self._token_status = status
        self.token_button.setText(
            "Hugging Face token ✓" if status.has_token else "Hugging Face token…"
        )

    @Slot(str)
    def _on_needs_consent(self, reason: str) -> None:
        token = getattr(self, "_pending_token", "")
        if token:
            self.answer_consent.emit(token, self.ask_consent(reason))
        self._pending_token = ""

    def _ask_consent(self, reason: str) -> bool:
        answer = QMessageBox.question(
            self,
            "No system keyring",
            f"{reason}\n\nStore the token in a private file readable only by you instead?\n\n"
            "Hearth remembers your answer; you can change it in Settings → Privacy.",
        )
        return answer == QMessageBox.StandardButton.Yes

    @Slot(str)
    def show_notice(self, text: str) -> None:
        self.notice.setText(text)
        self.notice.setVisible(bool(text))
        if self.results_status.text() == "Searching…":
            self.results_status.setText("")
        if self._details is None and self.repo_meta.text() == "Loading files…":
            self.repo_meta.setText("")
