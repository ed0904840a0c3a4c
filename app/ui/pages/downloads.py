"""Downloads: one row per file (progress, speed, time left, Pause/Resume/Cancel, Load model),
and a panel listing every download grouped as active, paused, failed and finished.

The rows are shared by Discover (its inline list) and the panel; both talk to the bridge
through the same signals, so a click in one shows up in the other.
"""

from __future__ import annotations

from typing import Protocol

from PySide6.QtCore import Qt, Signal, SignalInstance, Slot
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from app.backend.downloads import DownloadRecord, Status
from app.backend.units import human_size, human_time_left

STATUS_TEXT = {
    "queued": "Queued",
    "downloading": "Downloading",
    "paused": "Paused",
    "verifying": "Verifying sha256…",
    "completed": "Downloaded and verified",
    "failed": "Failed",
    "cancelled": "Cancelled",
    "quarantined": "Rejected: damaged file",
}
#: Nothing more can happen to these; their row offers Clear (a failed one offers Retry).
ENDED: tuple[Status, ...] = ("completed", "cancelled", "quarantined")
GROUPS: dict[str, tuple[Status, ...]] = {
    "Downloading": ("queued", "downloading", "verifying"),
    "Paused": ("paused",),
    "Failed": ("failed", "quarantined", "cancelled"),
    "Finished": ("completed",),
}


class DownloadActions(Protocol):
    """What a row needs from the page it sits on (Discover or the Downloads panel)."""

    pause_download: SignalInstance
    resume_download: SignalInstance
    cancel_download: SignalInstance
    remove_download: SignalInstance
    load_downloaded: SignalInstance


def wire_download_actions(page: object, b: object) -> None:
    """The download signals every page with download rows shares with the models bridge,
    both directions (queued: the bridge lives in its own thread). ``page`` has the
    ``DownloadActions`` signals plus ``list_downloads``, ``show_download`` and
    ``show_downloads``."""
    for name in ("pause_download", "resume_download", "cancel_download", "remove_download",
                 "load_downloaded", "list_downloads"):  # fmt: skip
        getattr(page, name).connect(getattr(b, name))
    b.download_changed.connect(page.show_download)  # type: ignore[attr-defined]
    b.downloads_listed.connect(page.show_downloads)  # type: ignore[attr-defined]


class DownloadRow(QFrame):
    """One download: name, progress bar, bytes · speed · time left, and its actions."""

    def __init__(self, record: DownloadRecord, page: DownloadActions) -> None:
        super().__init__()
        self.setObjectName("card")
        self.rid = record.id
        self._page = page
        lay = QVBoxLayout(self)
        lay.setContentsMargins(12, 8, 12, 8)
        lay.setSpacing(4)
        top = QHBoxLayout()
        self.name = QLabel(f"<b>{record.spec.repo_id}</b> · {record.spec.filename}")
        self.name.setTextFormat(Qt.TextFormat.RichText)
        top.addWidget(self.name, 1)
        self.load = QPushButton("Load model")
        self.load.setObjectName("primary")
        self.load.setAccessibleName(f"Load {record.spec.filename}")
        self.load.setToolTip("Open the Chat and load this model")
        self.load.clicked.connect(lambda: page.load_downloaded.emit(self.rid))
        self.toggle = QPushButton("Pause")
        self.toggle.clicked.connect(self._toggle)
        self.cancel = QPushButton("Cancel")
        self.cancel.setObjectName("danger")
        self.cancel.clicked.connect(lambda: page.cancel_download.emit(self.rid))
        top.addWidget(self.load)
        top.addWidget(self.toggle)
        top.addWidget(self.cancel)
        lay.addLayout(top)
        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)
        self.bar.setTextVisible(False)
        lay.addWidget(self.bar)
        self.detail = QLabel()
        self.detail.setObjectName("muted")
        self.detail.setWordWrap(True)
        lay.addWidget(self.detail)
        self.status: Status = record.status
        self.update_record(record)

    def _toggle(self) -> None:
        if self.status in ("paused", "failed"):
            self._page.resume_download.emit(self.rid)
        elif self.status in ENDED:
            self._page.remove_download.emit(self.rid)
        else:
            self._page.pause_download.emit(self.rid)

    def update_record(self, r: DownloadRecord) -> None:
        self.status = r.status
        self.bar.setValue(int(r.fraction * 1000))
        parts = [f"{human_size(r.bytes_done)} of {human_size(r.spec.size)}"]
        if r.status == "downloading" and r.speed_bps > 0:
            parts += [f"{human_size(r.speed_bps)}/s", human_time_left(r.eta_s)]
        parts.insert(0, STATUS_TEXT[r.status])
        text = " · ".join(p for p in parts if p)
        if r.error:
            text += f"\n{r.error}"
        if r.status == "completed":
            text = f"{STATUS_TEXT['completed']} · {human_size(r.spec.size)} · in My Models"
        self.detail.setText(text)
        self.toggle.setText(
            {"paused": "Resume", "failed": "Retry", "completed": "Clear", "cancelled": "Clear",
             "quarantined": "Clear"}.get(r.status, "Pause")
        )  # fmt: skip
        self.cancel.setVisible(r.status not in ENDED)
        self.bar.setVisible(r.status not in ENDED)
        self.load.setVisible(r.status == "completed")


def group_of(status: Status) -> str:
    return next(name for name, members in GROUPS.items() if status in members)


class DownloadsPanel(QWidget):
    """Every download, grouped; opened from the sidebar's Downloads button."""

    pause_download = Signal(str)
    resume_download = Signal(str)
    cancel_download = Signal(str)
    remove_download = Signal(str)
    load_downloaded = Signal(str)
    list_downloads = Signal()
    counts_changed = Signal(dict)  # group name -> number of downloads in it

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.setWindowTitle("Downloads")
        self.setAccessibleName("Downloads")
        self.resize(640, 520)
        self.rows: dict[str, DownloadRow] = {}
        self._records: dict[str, DownloadRecord] = {}
        outer = QVBoxLayout(self)
        outer.setContentsMargins(16, 14, 16, 14)
        head = QHBoxLayout()
        title = QLabel("Downloads")
        title.setObjectName("pageTitle")
        head.addWidget(title, 1)
        self.clear_finished = QPushButton("Clear finished")
        self.clear_finished.setToolTip(
            "Remove finished, cancelled and rejected downloads from the list (failed ones "
            "stay, to retry)"
        )
        self.clear_finished.clicked.connect(self._clear_finished)
        head.addWidget(self.clear_finished)
        outer.addLayout(head)
        self.empty = QLabel("No downloads yet. Find a model in Discover and press Download.")
        self.empty.setObjectName("muted")
        outer.addWidget(self.empty)
        body = QWidget()
        self._body = QVBoxLayout(body)
        self._body.setContentsMargins(0, 0, 0, 0)
        self.headers: dict[str, QLabel] = {}
        self._boxes: dict[str, QVBoxLayout] = {}
        for name in GROUPS:
            label = QLabel(name)
            label.setObjectName("sectionTitle")
            box = QVBoxLayout()
            box.setSpacing(6)
            self._body.addWidget(label)
            self._body.addLayout(box)
            self.headers[name] = label
            self._boxes[name] = box
        self._body.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(body)
        outer.addWidget(scroll, 1)
        self._refresh_headers()

    def connect_bridge(self, b: object) -> None:
        """Both directions, queued (the bridge lives in its own thread)."""
        wire_download_actions(self, b)
        self.list_downloads.emit()

    def group_labels(self, group: str) -> list[str]:
        """The files listed in ``group``, top to bottom (for tests and accessibility)."""
        box = self._boxes[group]
        out = []
        for i in range(box.count()):
            item = box.itemAt(i)
            widget = item.widget() if item is not None else None
            if isinstance(widget, DownloadRow):
                out.append(self._records[widget.rid].spec.filename)
        return out

    @Slot(list)
    def show_downloads(self, records: list[DownloadRecord]) -> None:
        keep = {r.id for r in records}
        for rid in [rid for rid in self.rows if rid not in keep]:
            self.rows.pop(rid).deleteLater()
            self._records.pop(rid, None)
        for r in records:
            self.show_download(r)
        self._refresh_headers()

    @Slot(object)
    def show_download(self, record: DownloadRecord) -> None:
        previous = self._records.get(record.id)
        self._records[record.id] = record
        row = self.rows.get(record.id)
        if row is None:
            row = DownloadRow(record, self)
            self.rows[record.id] = row
            self._boxes[group_of(record.status)].insertWidget(0, row)
        else:
            row.update_record(record)
            if previous is not None and group_of(previous.status) != group_of(record.status):
                self._boxes[group_of(previous.status)].removeWidget(row)
                self._boxes[group_of(record.status)].insertWidget(0, row)
        self._refresh_headers()

    def _clear_finished(self) -> None:
        for rid, r in list(self._records.items()):
            if r.status in ENDED:
                self.remove_download.emit(rid)

    def _refresh_headers(self) -> None:
        counts = {name: 0 for name in GROUPS}
        for r in self._records.values():
            counts[group_of(r.status)] += 1
        for name, label in self.headers.items():
            label.setText(f"{name} ({counts[name]})")
            label.setVisible(counts[name] > 0)
        self.empty.setVisible(not self._records)
        self.counts_changed.emit(counts)


class DownloadsButton(QPushButton):
    """The sidebar's way into the panel; says how many downloads are running."""

    def __init__(self, panel: DownloadsPanel) -> None:
        super().__init__("↓ Downloads")
        self.setObjectName("sidebarFooterButton")
        self.setAccessibleName("Downloads")
        self.setToolTip("Every download: running, paused, failed and finished")
        self._panel = panel
        self.clicked.connect(self.open_panel)
        panel.counts_changed.connect(self._show_counts)

    def open_panel(self) -> None:
        self._panel.show()
        self._panel.raise_()
        self._panel.activateWindow()

    @Slot(dict)
    def _show_counts(self, counts: dict[str, int]) -> None:
        active = counts.get("Downloading", 0)
        self.setText(f"↓ Downloads · {active}" if active else "↓ Downloads")
