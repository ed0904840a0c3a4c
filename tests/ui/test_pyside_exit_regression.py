"""PySide6 6.12.0 aborts at interpreter exit on CPython 3.11 ("none_dealloc": a reference-count
bug on None after a few thousand void-returning calls). Our constraints avoid that release on
3.11; this test proves the installed combination exits cleanly after such calls."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import PySide6

SCRIPT = textwrap.dedent(
    """
    import os
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    from PySide6.QtGui import QTextCursor
    from PySide6.QtWidgets import QApplication, QPlainTextEdit
    app = QApplication([])
    edit = QPlainTextEdit()
    for i in range(20000):
        edit.appendPlainText("line %d" % i)
        edit.moveCursor(QTextCursor.MoveOperation.End)
    print("done")
    """
)


def test_installed_pyside_is_not_the_broken_release_on_this_python() -> None:
    if sys.version_info < (3, 12):
        assert PySide6.__version__ != "6.12.0"


def test_many_void_qt_calls_then_a_clean_interpreter_exit() -> None:
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "done" in result.stdout
