"""Find in chat (Ctrl+F), files dropped on the chat, "Keep changes?" after an edit, and code
blocks that scroll sideways. Real widgets, offscreen; no model needed."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QGuiApplication, QKeySequence, QWheelEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QLineEdit, QVBoxLayout, QWidget

from app.backend.chats import Conversation, Message
from app.ui.chat.page import SHORTCUTS, ChatPage
from app.ui.chat.transcript import FIRST_PAGE, Transcript
from app.ui.main_window import SHORTCUTS as WINDOW_SHORTCUTS


def _chat(n: int, conversation: int = 1) -> list[Message]:
    """``n`` messages; "lighthouse" in message 3 (far above the first page) and the last two."""
    messages = []
    for i in range(n):
        text = f"message {i}"
        if i == 3:
            text += " about the Lighthouse keeper"
        if i >= n - 2:
            text += " lighthouse, and a lighthouse"
        role = "user" if i % 2 == 0 else "assistant"
        messages.append(Message(i + 1, conversation, role, text, "complete", 0.0))
    return messages


def _page(qtbot) -> ChatPage:
    page = ChatPage()
    qtbot.addWidget(page)
    page.resize(1100, 700)
    page.show()
    return page


def _open(page: ChatPage, messages: list[Message], conversation: int = 1) -> None:
    page._on_opened(Conversation(conversation, f"Chat {conversation}", 0.0, 0.0), messages)


def _accent() -> str:
    from app.ui.theme import current_colors

    return current_colors().accent.lower()


def test_ctrl_f_is_free_and_distinct_from_search_across_chats() -> None:
    keys = [QKeySequence(k).toString() for k in SHORTCUTS.values()]
    window = [QKeySequence(k).toString() for k in WINDOW_SHORTCUTS.values()]
    assert len(keys) == len(set(keys)), "two chat shortcuts share keys"
    assert not set(keys) & set(window) and not set(keys) & {"Ctrl+N", "Ctrl+L"}
    assert SHORTCUTS["find"] == "Ctrl+F" and SHORTCUTS["search"] != SHORTCUTS["find"]


def test_find_counts_highlights_and_goes_to_matches_not_built_yet(qtbot) -> None:
    page = _page(qtbot)
    messages = _chat(200)
    _open(page, messages)
    transcript = page.transcript
    qtbot.waitUntil(lambda: len(transcript.views) == FIRST_PAGE, timeout=5_000)
    assert transcript.view_at(3) is None  # far above the first page

    page.shortcuts["find"].activated.emit()
    assert page.find_bar.isVisible()
    QTest.keyClicks(page.find_bar.field, "lighthouse")
    # 1 in message 3 (not built: counted in its text) + 2 + 2 in the last two (highlighted)
    assert page.find_bar.count.text() == "5 of 5"
    last = transcript.view_at(199)
    assert last is not None and len(last.body.extraSelections()) == 2
    assert last.body.extraSelections()[1].format.background().color().name() == _accent()

    QTest.keyClick(page.find_bar.field, Qt.Key.Key_Return, Qt.KeyboardModifier.ShiftModifier)
    assert page.find_bar.count.text() == "4 of 5"
    QTest.keyClick(page.find_bar.field, Qt.Key.Key_Return)  # next
    QTest.keyClick(page.find_bar.field, Qt.Key.Key_Return)  # wraps to the first match
    assert page.find_bar.count.text() == "1 of 5"
    qtbot.waitUntil(lambda: transcript.view_at(3) is not None, timeout=10_000)
    view = transcript.view_at(3)
    assert view is not None
    qtbot.waitUntil(
        lambda: (
            [s.format.background().color().name() for s in view.body.extraSelections()]
            == [_accent()]
        ),
        timeout=5_000,
    )

    # ... and scrolled there: the match is inside the visible part of the transcript.
    def match_visible() -> bool:
        selections = view.body.extraSelections()
        center = view.body.cursorRect(selections[0].cursor).center()
        point = view.body.viewport().mapTo(transcript.viewport(), center)
        return 0 <= point.y() <= transcript.viewport().height()

    qtbot.waitUntil(match_visible, timeout=5_000)

    page.find_bar.field.setText("no such words")
    assert page.find_bar.count.text() == "No matches"
    assert not page.find_bar.next_button.isEnabled()
    # Escape closes the bar (not the page's Esc = Stop) and clears every highlight.
    page.find_bar.field.setText("lighthouse")
    QTest.keyClick(page.find_bar.field, Qt.Key.Key_Escape)
    assert not page.find_bar.isVisible()
    assert all(not body.extraSelections() for v in transcript.views for body in v.bodies())


def test_find_follows_a_switch_to_another_chat(qtbot) -> None:
    page = _page(qtbot)
    _open(page, _chat(10))
    page.shortcuts["find"].activated.emit()
    page.find_bar.field.setText("lighthouse")
    assert page.find_bar.count.text() == "5 of 5"
    other = [Message(900, 2, "user", "no match here", "complete", 0.0)]
    _open(page, other, conversation=2)
    assert page.find_bar.count.text() == "No matches"


def _drop_target(widget: QWidget, pos: QPoint) -> QWidget:
    """The widget Qt delivers a drop at ``pos`` of ``widget`` to: the deepest one under the
    cursor that accepts drops (as QWidgetWindow's findDnDTarget)."""
    target = widget.childAt(pos) or widget
    while target is not None and not target.acceptDrops():
        target = target.parentWidget()
    assert target is not None
    return target


def _drop(widget: QWidget, pos: QPoint, urls: list[QUrl]) -> bool:
    target = _drop_target(widget, pos)
    local = target.mapFrom(widget, pos)
    mime = QMimeData()
    mime.setUrls(urls)
    action = Qt.DropAction.CopyAction
    buttons, mods = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    enter = QDragEnterEvent(local, action, mime, buttons, mods)
    QApplication.sendEvent(target, enter)
    if not enter.isAccepted():
        return False
    drop = QDropEvent(QPointF(local), action, mime, buttons, mods)
    QApplication.sendEvent(target, drop)
    return drop.isAccepted()


def test_files_dropped_on_the_chat_or_the_message_box_are_attached(
    qtbot, make_app, tmp_path: Path
) -> None:
    hearth = make_app()
    page = hearth.chat
    qtbot.waitUntil(lambda: page.current is not None, timeout=10_000)
    _open(page, _chat(6), conversation=page.current.id)
    view = page.transcript.views[-1]
    good = tmp_path / "notes.md"
    good.write_text("# Notes\nlighthouse", encoding="utf-8")
    binary = tmp_path / "photo.jpg"
    binary.write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 40)
    # On a message's text: the transcript takes the drop, not the read-only text view.
    on_body = view.body.mapTo(page.transcript, view.body.rect().center())
    assert _drop_target(page.transcript, on_body) is page.transcript.viewport()
    urls = [QUrl.fromLocalFile(str(good)), QUrl.fromLocalFile(str(binary))]
    assert _drop(page.transcript, on_body, urls)
    qtbot.waitUntil(lambda: [f.name for f in page.composer.attachments] == ["notes.md"])
    qtbot.waitUntil(lambda: "binary" in page.notice.text(), timeout=5_000)  # as Attach says
    # On the message box: attached, and no path typed into the text.
    page.composer.input.setPlainText("my question")
    code = tmp_path / "beam.py"
    code.write_text("def beam(): ...\n", encoding="utf-8")
    box = page.composer.input.viewport()
    assert _drop(box, box.rect().center(), [QUrl.fromLocalFile(str(code))])
    qtbot.waitUntil(lambda: len(page.composer.attachments) == 2, timeout=5_000)
    assert page.composer.input.toPlainText() == "my question"
    # A web link is refused with a reason; a folder gets the attach button's reason.
    assert _drop(box, box.rect().center(), [QUrl("https://example.org/a.txt")])
    assert "Only files on this computer" in page.notice.text()
    assert _drop(box, box.rect().center(), [QUrl.fromLocalFile(str(tmp_path))])
    qtbot.waitUntil(lambda: "is not a file" in page.notice.text(), timeout=5_000)
    assert len(page.composer.attachments) == 2


def _editing_window(qtbot) -> tuple[QWidget, Transcript, QLineEdit, list[tuple[int, str]]]:
    window = QWidget()
    layout = QVBoxLayout(window)
    transcript = Transcript()
    elsewhere = QLineEdit()
    layout.addWidget(transcript)
    layout.addWidget(elsewhere)
    qtbot.addWidget(window)
    window.resize(800, 600)
    window.show()
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5_000)
    transcript.show_messages(_chat(4))
    saved: list[tuple[int, str]] = []
    transcript.message_edited.connect(lambda mid, text: saved.append((mid, text)))
    return window, transcript, elsewhere, saved


def _answer(qtbot, transcript: Transcript, label: str) -> None:
    qtbot.waitUntil(lambda: transcript.keep_box is not None, timeout=5_000)
    box = transcript.keep_box
    assert box is not None and box.text() == "Keep changes?"
    [button] = [b for b in box.buttons() if b.text() == label]
    button.click()
    qtbot.waitUntil(lambda: transcript.keep_box is None, timeout=5_000)


def test_escape_with_unsaved_changes_asks_keep_or_discard(qtbot) -> None:
    _window, transcript, _, saved = _editing_window(qtbot)  # the window must stay referenced
    view = transcript.views[-1]
    view.edit_button.click()
    QTest.keyClick(view.editor, Qt.Key.Key_Escape)  # nothing changed: just closes
    assert transcript.keep_box is None and view.edit_box is not None
    assert view.edit_box.isHidden() and view.body.isVisibleTo(view)

    view.edit_button.click()
    view.editor.setPlainText("a better question")
    QTest.keyClick(view.editor, Qt.Key.Key_Escape)
    _answer(qtbot, transcript, "Discard")
    assert view.edit_box.isHidden() and saved == []
    assert view.message.content in view.body.toPlainText()

    view.edit_button.click()
    view.editor.setPlainText("a better question")
    QTest.keyClick(view.editor, Qt.Key.Key_Escape)
    _answer(qtbot, transcript, "Keep")
    assert saved == [(view.message.id, "a better question")] and view.edit_box.isHidden()


def test_clicking_elsewhere_asks_and_cancel_goes_on_editing(qtbot) -> None:
    _window, transcript, elsewhere, saved = _editing_window(qtbot)
    view = transcript.views[-1]
    view.edit_button.click()
    qtbot.waitUntil(view.editor.hasFocus, timeout=5_000)
    view.editor.setPlainText("half written")
    view.save_edit.setFocus()  # inside the edit box: not leaving
    assert transcript.keep_box is None
    view.editor.setFocus()
    elsewhere.setFocus(Qt.FocusReason.MouseFocusReason)
    _answer(qtbot, transcript, "Cancel")
    assert not view.edit_box.isHidden() and view.editor.toPlainText() == "half written"
    qtbot.waitUntil(view.editor.hasFocus, timeout=5_000)
    assert saved == []


def test_switching_chats_with_an_unsaved_edit_asks_before_it_is_lost(qtbot) -> None:
    _window, transcript, _, saved = _editing_window(qtbot)  # the window must stay referenced
    view = transcript.views[-1]
    edited_id = view.message.id
    view.edit_button.click()
    view.editor.setPlainText("keep me")
    transcript.show_messages([Message(900, 2, "user", "another chat", "complete", 0.0)])
    qtbot.waitUntil(lambda: transcript.keep_box is not None, timeout=5_000)
    box = transcript.keep_box
    assert box is not None
    assert sorted(b.text() for b in box.buttons()) == ["Discard", "Keep"]  # no going back
    _answer(qtbot, transcript, "Keep")
    assert saved == [(edited_id, "keep me")]


def test_a_long_code_line_scrolls_sideways_and_copy_still_works(qtbot) -> None:
    long_line = "value = compute(" + ", ".join(f"argument_{i}" for i in range(40)) + ")"
    reply = f"Here:\n\n```python\n{long_line}\nshort = 1\n```\n\nA closing paragraph of prose."
    transcript = Transcript()
    qtbot.addWidget(transcript)
    transcript.resize(600, 500)
    transcript.show()
    transcript.show_messages([Message(1, 1, "assistant", reply, "complete", 0.0)])
    body = transcript.views[0].body
    bar = body.horizontalScrollBar()
    qtbot.waitUntil(lambda: bar.maximum() > 0, timeout=5_000)  # the line is not cut off
    # The body is tall enough for its text and the scroll bar; prose still wraps.
    doc_height = body.document().documentLayout().documentSize().height()
    qtbot.waitUntil(lambda: body.height() >= doc_height + bar.sizeHint().height(), timeout=5_000)
    assert body.document().idealWidth() > body.viewport().width()
    # The Copy link (on screen at the left) copies the whole block, long line included.
    QGuiApplication.clipboard().clear()
    found = body.document().find("Copy")
    assert not found.isNull()
    found.setPosition(found.selectionStart() + 2)  # inside the link, not at its edge
    QTest.mouseClick(
        body.viewport(), Qt.MouseButton.LeftButton, pos=body.cursorRect(found).center()
    )
    assert QGuiApplication.clipboard().text() == f"{long_line}\nshort = 1\n"
    # Sideways wheel scrolls the code; an up/down wheel is left to the transcript.
    sideways = QWheelEvent(
        QPointF(20, 20),
        QPointF(20, 20),
        QPoint(0, 0),
        QPoint(-120, 0),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(body.viewport(), sideways)
    assert bar.value() > 0
    down = QWheelEvent(
        QPointF(20, 20),
        QPointF(20, 20),
        QPoint(0, 0),
        QPoint(0, -120),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(body.viewport(), down)
    assert not down.isAccepted()
