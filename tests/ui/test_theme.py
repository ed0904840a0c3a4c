"""Themes: light/dark palettes, following the system, live switching from Settings."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

from app.backend.chats import Message
from app.backend.core import HearthCore
from app.backend.engine.types import GenerationStats
from app.ui import theme
from app.ui.app import HearthApp
from app.ui.chat.transcript import Transcript, render_messages


@pytest.fixture
def manager(qapp: QApplication) -> Iterator[theme.ThemeManager]:
    manager = theme.ThemeManager(qapp)
    yield manager
    manager.apply("light")


def _window_colour() -> str:
    return QApplication.palette().color(QPalette.ColorRole.Window).name()


def test_light_and_dark_palettes_apply(manager: theme.ThemeManager) -> None:
    with_signal: list[str] = []
    manager.changed.connect(with_signal.append)
    manager.apply("dark")
    assert _window_colour() == QColor(theme.DARK.window).name()
    assert manager.resolved == "dark" and theme.current_colors() is theme.DARK
    assert theme.DARK.warning_bg in QApplication.instance().styleSheet()  # type: ignore[union-attr]
    manager.apply("light")
    assert _window_colour() == QColor(theme.LIGHT.window).name()
    assert with_signal == ["dark", "light"]


def test_system_follows_the_os_scheme(
    manager: theme.ThemeManager, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(theme, "system_prefers_dark", lambda: True)
    manager.apply("system")
    assert manager.resolved == "dark"
    monkeypatch.setattr(theme, "system_prefers_dark", lambda: False)
    manager._on_system_scheme(None)  # type: ignore[arg-type] - what the OS signal calls
    assert manager.resolved == "light"
    manager.apply("dark")
    monkeypatch.setattr(theme, "system_prefers_dark", lambda: True)
    manager._on_system_scheme(None)  # type: ignore[arg-type]
    assert manager.resolved == "dark"  # a forced theme ignores the OS


def test_unknown_mode_falls_back_to_system(
    manager: theme.ThemeManager, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(theme, "system_prefers_dark", lambda: False)
    manager.apply("sepia")
    assert manager.mode == "system" and manager.resolved == "light"


def test_stylesheet_has_no_leftover_placeholders() -> None:
    for colours in (theme.LIGHT, theme.DARK):
        sheet = theme.build_stylesheet(colours, 13)
        assert "{" in sheet and "{c." not in sheet and "13pt" in sheet
        up, down = theme.arrow_files(colours.muted)
        assert up in sheet and down in sheet


def test_theme_switch_in_settings_applies_live(qtbot) -> None:
    hearth = HearthApp(HearthCore())
    qtbot.addWidget(hearth.window)
    try:
        page = hearth.settings_page
        page.editors["appearance.theme"].set("dark")
        assert _window_colour() == QColor(theme.DARK.window).name()  # before saving
        with qtbot.waitSignal(page.saved, timeout=2000):
            page.save_button.click()
        assert hearth.core.settings.appearance.theme == "dark"
        assert hearth.theme.resolved == "dark"
    finally:
        hearth.shutdown()
        hearth.window.deleteLater()
        hearth.theme.apply("light")


def _reply(status: str = "complete", **extra: object) -> Message:
    return Message(2, 1, "assistant", "Hi there", status, 0.0, **extra)  # type: ignore[arg-type]


def test_transcript_marks_roles_stats_and_statuses() -> None:
    stats = GenerationStats(5, 42, 0.25, 31.5, 1.6)
    user = Message(1, 1, "user", "Hello <b>", "complete", 0.0)
    html = render_messages([user, _reply(stats=stats, stop_reason="eos")], "", theme.LIGHT)
    assert "You" in html and "Assistant" in html
    assert "Hello &lt;b&gt;" in html  # user text is escaped, never rendered as HTML
    assert "31.5 tok/s" in html and "42 tokens" in html and "0.25s to first token" in html
    assert "Stop reason: end of text" in html
    assert theme.LIGHT.muted in html
    for status, label in (("interrupted", "Interrupted"), ("error", "Failed")):
        assert label in render_messages([_reply(status)], "", theme.LIGHT)
        assert theme.LIGHT.danger in render_messages([_reply(status)], "", theme.LIGHT)
    assert "Stopped" in render_messages([_reply("cancelled")], "", theme.LIGHT)
    quiet = render_messages([_reply(stats=stats, stop_reason="eos")], "", theme.LIGHT, False)
    assert "tok/s" not in quiet


def test_transcript_recolours_when_the_theme_changes(qtbot, manager: theme.ThemeManager) -> None:
    manager.apply("light")
    transcript = Transcript()
    qtbot.addWidget(transcript)
    transcript.show_messages([Message(1, 1, "user", "hi", "complete", 0.0)])
    assert QColor(theme.LIGHT.user).name() in transcript.toHtml()
    manager.apply("dark")
    qtbot.waitUntil(lambda: QColor(theme.DARK.user).name() in transcript.toHtml(), timeout=1000)
