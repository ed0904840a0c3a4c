"""The Hardware page: what this machine has, live usage, and where loaded models live.

Plain data in, no threads and no backend calls: a bridge polls ``HardwareMonitor`` off the
UI thread about once a second and calls ``show_snapshot``; ``show_static_info`` and
``show_loaded_models`` are called when those change.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QEvent, Qt, Slot
from PySide6.QtGui import QFont, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QScrollArea,
    QSizePolicy,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.backend.hardware.types import (
    GpuInfo,
    HardwareInfo,
    HardwareSnapshot,
    LoadedModelInfo,
)
from app.ui.pages.sparkline import Sparkline

HISTORY_SECONDS = 60
GiB = 1024**3
# Series colours chosen to read on both light and dark backgrounds.
CPU_COLOR, RAM_COLOR = "#3b82f6", "#8b5cf6"
GPU_UTIL_COLOR, VRAM_COLOR, POWER_COLOR = "#10b981", "#f59e0b", "#ef4444"

_STYLE = """
QFrame#hwCard { background: palette(base); border: 1px solid palette(mid); border-radius: 10px; }
QFrame#hwTile { background: palette(window); border: 1px solid palette(midlight);
                border-radius: 8px; }
QLabel#hwTitle { font-size: 20px; font-weight: 600; }
QLabel#hwSection { font-size: 13px; font-weight: 600; }
QLabel#hwValue { font-size: 17px; font-weight: 600; }
QLabel#hwPill { border: 1px solid palette(mid); border-radius: 9px; padding: 1px 8px; }
QLabel#hwNotice { border-radius: 8px; padding: 8px 10px; background: palette(alternate-base); }
"""


def fmt_bytes(n: float) -> str:
    if n >= GiB:
        return f"{n / GiB:.1f} GiB"
    return f"{n / 1024**2:.0f} MiB"


def _muted(label: QLabel) -> QLabel:
    """Secondary text: the theme's text colour at reduced opacity (re-applied on theme change)."""
    label.setProperty("hwMuted", True)
    parent = label.parentWidget()
    _apply_muted(label, parent.palette() if parent is not None else None)
    return label


def _apply_muted(label: QLabel, base: QPalette | None) -> None:
    pal = QPalette(base) if base is not None else QPalette(label.palette())
    color = pal.color(QPalette.ColorRole.WindowText)
    color.setAlpha(150)
    pal.setColor(QPalette.ColorRole.WindowText, color)
    label.setPalette(pal)


def _card(title: str) -> tuple[QFrame, QVBoxLayout]:
    frame = QFrame()
    frame.setObjectName("hwCard")
    lay = QVBoxLayout(frame)
    lay.setContentsMargins(16, 14, 16, 16)
    lay.setSpacing(10)
    head = QLabel(title)
    head.setObjectName("hwSection")
    head.setAccessibleName(title)
    lay.addWidget(head)
    return frame, lay


class MetricTile(QFrame):
    """Title, current value, a one-minute sparkline and a detail line."""

    def __init__(self, title: str, color: str, maximum: float | None = 100.0) -> None:
        super().__init__()
        self.setObjectName("hwTile")
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(12, 10, 12, 10)
        lay.setSpacing(4)
        row = QHBoxLayout()
        self.title = _muted(QLabel(title))
        self.value = QLabel("–")
        self.value.setObjectName("hwValue")
        self.value.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        row.addWidget(self.title)
        row.addStretch(1)
        row.addWidget(self.value)
        lay.addLayout(row)
        self.graph = Sparkline(f"{title} history", maximum=maximum, capacity=HISTORY_SECONDS,
                               color=color)  # fmt: skip
        lay.addWidget(self.graph)
        self.detail = _muted(QLabel(""))
        lay.addWidget(self.detail)
        self.setAccessibleName(title)

    def update_value(self, plot: float, text: str, detail: str = "") -> None:
        self.value.setText(text)
        self.detail.setText(detail)
        self.graph.add(plot, text)
        self.setAccessibleDescription(f"{text} {detail}".strip())


class HardwarePage(QWidget):
    """CPU, RAM, GPUs and llama.cpp build; live graphs; loaded-model placement."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("hardwarePage")
        self.setAccessibleName("Hardware")
        self.setStyleSheet(_STYLE)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        outer.addWidget(scroll)
        body = QWidget()
        scroll.setWidget(body)
        self._body = QVBoxLayout(body)
        self._body.setContentsMargins(24, 20, 24, 24)
        self._body.setSpacing(14)

        title = QLabel("Hardware")
        title.setObjectName("hwTitle")
        self._body.addWidget(title)
        self._body.addWidget(_muted(QLabel("What this computer can run, and how busy it is.")))

        self._build_system_card()
        self._build_live_card()
        self._build_models_card()
        self._body.addStretch(1)
        self._gpu_tiles: dict[int, tuple[MetricTile, MetricTile, MetricTile]] = {}

    # ------------------------------------------------------------------ building
    def _build_system_card(self) -> None:
        card, lay = _card("System")
        grid = QGridLayout()
        grid.setHorizontalSpacing(18)
        grid.setVerticalSpacing(8)
        self.cpu_label = QLabel("–")
        self.cores_label = QLabel("–")
        self.ram_label = QLabel("–")
        self.backend_label = QLabel("–")
        self.isa_row = QHBoxLayout()
        self.isa_row.setSpacing(6)
        isa_host = QWidget()
        isa_host.setLayout(self.isa_row)
        self.isa_row.setContentsMargins(0, 0, 0, 0)
        rows = [
            ("Processor", self.cpu_label),
            ("Cores", self.cores_label),
            ("Instruction sets", isa_host),
            ("Memory", self.ram_label),
            ("llama.cpp", self.backend_label),
        ]
        for r, (name, widget) in enumerate(rows):
            grid.addWidget(_muted(QLabel(name)), r, 0, Qt.AlignmentFlag.AlignTop)
            grid.addWidget(widget, r, 1)
            if isinstance(widget, QLabel):
                widget.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
                widget.setAccessibleName(name)
        grid.setColumnStretch(1, 1)
        lay.addLayout(grid)

        gpu_head = QLabel("Graphics")
        gpu_head.setObjectName("hwSection")
        lay.addWidget(gpu_head)
        self.gpu_notice = QLabel("")
        self.gpu_notice.setObjectName("hwNotice")
        self.gpu_notice.setWordWrap(True)
        self.gpu_notice.setAccessibleName("GPU status")
        lay.addWidget(self.gpu_notice)
        self.gpu_list = QVBoxLayout()
        self.gpu_list.setSpacing(8)
        lay.addLayout(self.gpu_list)
        self._body.addWidget(card)

    def _build_live_card(self) -> None:
        card, lay = _card("Live usage · last minute")
        self.live_grid = QGridLayout()
        self.live_grid.setSpacing(10)
        self.cpu_tile = MetricTile("CPU", CPU_COLOR, 100.0)
        self.ram_tile = MetricTile("Memory", RAM_COLOR, None)
        self.engine_tile = MetricTile("Model processes", RAM_COLOR, None)
        self.engine_tile.detail.setText("resident memory of loaded models")
        self.live_grid.addWidget(self.cpu_tile, 0, 0)
        self.live_grid.addWidget(self.ram_tile, 0, 1)
        self.live_grid.addWidget(self.engine_tile, 0, 2)
        for col in range(3):
            self.live_grid.setColumnStretch(col, 1)
        self.gpu_error = _muted(QLabel(""))
        self.gpu_error.setWordWrap(True)
        self.gpu_error.hide()
        lay.addLayout(self.live_grid)
        lay.addWidget(self.gpu_error)
        self._body.addWidget(card)

    def _build_models_card(self) -> None:
        card, lay = _card("Loaded models")
        self.models_empty = _muted(QLabel("No model is loaded."))
        lay.addWidget(self.models_empty)
        self.models_table = QTableWidget(0, 5)
        self.models_table.setAccessibleName("Loaded models")
        self.models_table.setHorizontalHeaderLabels(
            ["Model", "Where", "Context", "KV cache", "Memory"]
        )
        self.models_table.verticalHeader().hide()
        self.models_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.models_table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.models_table.setShowGrid(False)
        self.models_table.setAlternatingRowColors(True)
        self.models_table.setFrameShape(QFrame.Shape.NoFrame)
        header = self.models_table.horizontalHeader()
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for col in range(1, 5):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        self.models_table.hide()
        lay.addWidget(self.models_table)
        self._body.addWidget(card)

    def changeEvent(self, event: QEvent) -> None:
        """Follow live light/dark switches: re-resolve palette() in the QSS and muted text."""
        if event.type() == QEvent.Type.PaletteChange:
            self.setStyleSheet(_STYLE)
            for label in self.findChildren(QLabel):
                if label.property("hwMuted"):
                    _apply_muted(label, self.palette())
        super().changeEvent(event)

    # ------------------------------------------------------------------ slots
    @Slot(object)
    def show_static_info(self, info: HardwareInfo) -> None:
        cpu, ram, gpu, llama = info.cpu, info.ram, info.gpu, info.llama
        self.cpu_label.setText(cpu.model)
        self.cores_label.setText(
            f"{cpu.physical_cores} physical · {cpu.logical_cores} logical · {cpu.arch}"
        )
        while self.isa_row.count():
            item = self.isa_row.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()
        for name in cpu.instruction_sets or ("none detected",):
            pill = QLabel(name)
            pill.setObjectName("hwPill")
            self.isa_row.addWidget(pill)
        self.isa_row.addStretch(1)
        self.ram_label.setText(
            f"{fmt_bytes(ram.total_bytes)} total · {fmt_bytes(ram.available_bytes)} available"
        )
        if llama.importable:
            offload = "can offload to GPU" if llama.supports_gpu_offload else "CPU only"
            version = f" {llama.version}" if llama.version else ""
            self.backend_label.setText(f"{llama.backend} build{version} · {offload}")
            self.backend_label.setToolTip(llama.system_info)
        else:
            self.backend_label.setText(llama.reason or "not available")
        self._show_gpus(gpu.gpus, gpu.driver_version, gpu.reason if not gpu.available else None)
        self.ram_tile.graph.set_maximum(ram.total_bytes / GiB)

    def _show_gpus(self, gpus: Sequence[GpuInfo], driver: str | None, reason: str | None) -> None:
        while self.gpu_list.count():
            item = self.gpu_list.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()
        if reason:
            self.gpu_notice.setText(reason)
            self.gpu_notice.show()
            return
        self.gpu_notice.setText(f"NVIDIA driver {driver}" if driver else "")
        self.gpu_notice.setVisible(bool(driver))
        for g in gpus:
            row = QWidget()
            lay = QHBoxLayout(row)
            lay.setContentsMargins(0, 0, 0, 0)
            name = QLabel(f"GPU {g.index} · {g.name}")
            name.setMinimumWidth(260)
            bar = QProgressBar()
            bar.setRange(0, 1000)
            bar.setValue(int(1000 * g.vram_used_bytes / max(1, g.vram_total_bytes)))
            bar.setTextVisible(False)
            bar.setFixedHeight(8)
            bar.setAccessibleName(f"GPU {g.index} VRAM in use")
            free = _muted(QLabel(f"{fmt_bytes(g.vram_free_bytes)} free of "
                                 f"{fmt_bytes(g.vram_total_bytes)}"))  # fmt: skip
            lay.addWidget(name)
            lay.addWidget(bar, 1)
            lay.addWidget(free)
            self.gpu_list.addWidget(row)

    def _gpu_tiles_for(self, index: int) -> tuple[MetricTile, MetricTile, MetricTile]:
        tiles = self._gpu_tiles.get(index)
        if tiles is None:
            tiles = (
                MetricTile(f"GPU {index} utilisation", GPU_UTIL_COLOR, 100.0),
                MetricTile(f"GPU {index} VRAM", VRAM_COLOR, None),
                MetricTile(f"GPU {index} power", POWER_COLOR, None),
            )
            row = 1 + index
            for col, tile in enumerate(tiles):
                self.live_grid.addWidget(tile, row, col)
            self._gpu_tiles[index] = tiles
        return tiles

    @Slot(object)
    def show_snapshot(self, snapshot: HardwareSnapshot) -> None:
        self.cpu_tile.update_value(
            snapshot.cpu_percent,
            f"{snapshot.cpu_percent:.0f} %",
            f"{len(snapshot.per_core_percent)} cores" if snapshot.per_core_percent else "",
        )
        used = snapshot.ram_used_bytes
        self.ram_tile.graph.set_maximum(snapshot.ram_total_bytes / GiB)
        engines = sum(snapshot.process_rss_bytes.values())
        self.ram_tile.update_value(
            used / GiB, fmt_bytes(used), f"of {fmt_bytes(snapshot.ram_total_bytes)}"
        )
        self.engine_tile.graph.set_maximum(snapshot.ram_total_bytes / GiB)
        n = len(snapshot.process_rss_bytes)
        self.engine_tile.update_value(
            engines / GiB,
            fmt_bytes(engines) if n else "–",
            f"{n} engine process{'es' if n != 1 else ''}" if n else "no model loaded",
        )
        for g in snapshot.gpus:
            util, vram, power = self._gpu_tiles_for(g.index)
            u = g.utilization_pct
            util.update_value(
                u or 0.0,
                f"{u:.0f} %" if u is not None else "n/a",
                f"{g.temperature_c:.0f} °C" if g.temperature_c is not None else "",
            )
            vram.graph.set_maximum(g.vram_total_bytes / GiB)
            vram.update_value(
                g.vram_used_bytes / GiB,
                fmt_bytes(g.vram_used_bytes),
                f"of {fmt_bytes(g.vram_total_bytes)}",
            )
            if g.power_w is not None:
                power.update_value(g.power_w, f"{g.power_w:.0f} W")
            else:  # leave the graph empty rather than drawing a false zero
                power.value.setText("n/a")
                power.detail.setText("not reported by this GPU")
        self.gpu_error.setText(snapshot.gpu_error or "")
        self.gpu_error.setVisible(bool(snapshot.gpu_error) and bool(self._gpu_tiles))
        self.gpu_error.setAccessibleName("Hardware status")

    @Slot(str)
    def show_error(self, message: str) -> None:
        """A failed poll or detection (the bridge reports it); cleared by the next snapshot."""
        self.gpu_error.setText(message)
        self.gpu_error.setVisible(bool(message))

    @Slot(object)
    def show_loaded_models(self, models: Sequence[LoadedModelInfo]) -> None:
        self.models_table.setRowCount(len(models))
        for r, m in enumerate(models):
            on_gpu = min(m.gpu_layers, m.n_layers)
            if m.gpu_layers <= 0:
                where = f"CPU · {m.n_layers} layers"
            elif m.gpu_layers > m.n_layers:
                where = f"GPU · all {m.n_layers} layers + output"
            else:
                where = f"GPU {on_gpu} / CPU {m.n_layers - on_gpu} layers"
            mem = " + ".join(
                part
                for part in (
                    f"{fmt_bytes(m.gpu_bytes)} VRAM" if m.gpu_bytes else "",
                    f"{fmt_bytes(m.cpu_bytes)} RAM" if m.cpu_bytes else "",
                )
                if part
            )
            kv = m.type_k if m.type_k == m.type_v else f"{m.type_k}/{m.type_v}"
            cells = [m.name, where, f"{m.n_ctx:,}", kv, mem or "–"]
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if c == 0:
                    font = QFont(item.font())
                    font.setWeight(QFont.Weight.DemiBold)
                    item.setFont(font)
                self.models_table.setItem(r, c, item)
        self.models_table.setVisible(bool(models))
        self.models_empty.setVisible(not models)
        self.models_table.setFixedHeight(
            self.models_table.horizontalHeader().height()
            + sum(self.models_table.rowHeight(r) for r in range(len(models)))
            + 4
        )
