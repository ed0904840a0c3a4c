"""Hearth's log file: where it goes, that it rotates, and that secrets never reach it."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.backend import logging_setup
from app.backend.logging_setup import (
    RedactionFilter,
    recent_log_lines,
    redact,
    setup_logging,
    tail_lines,
    teardown_logging,
)


@pytest.fixture
def logs(tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "logs"
    saved_level = logging.getLogger().level
    yield folder
    teardown_logging()
    logging.getLogger().setLevel(saved_level)


def _flush() -> None:
    for handler in logging.getLogger().handlers:
        handler.flush()


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("token hf_abcdefghijklmnopqrstuvwxyz0123 used", "hf_abcdefghijklmnopqrstuvwxyz0123"),
        ("key sk-proj-AbC123dEf456GhI789jKl", "sk-proj-AbC123dEf456GhI789jKl"),
        ("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig", "eyJhbGciOiJIUzI1NiJ9"),
        ("GITHUB ghp_0123456789abcdefABCDEF0123", "ghp_0123456789abcdefABCDEF0123"),
        ('{"api_key": "12345-secret-value"}', "12345-secret-value"),
        ("https://x/?access_token=abcdef123456&q=1", "abcdef123456"),
        ("password=hunter22", "hunter22"),
    ],
)
def test_redact_hides_credentials(text: str, secret: str) -> None:
    out = redact(text)
    assert secret not in out
    assert "***" in out


def test_redact_leaves_ordinary_text_alone() -> None:
    text = "Loaded google/gemma-3-270m/Q4_K_M in 0.4 s; 12 tokens, skip-layer=3 n_ctx=4096"
    assert redact(text) == text


def test_log_goes_to_the_data_roots_logs_folder_and_is_redacted(logs: Path) -> None:
    path = setup_logging(logs)
    assert path == logs / "hearth.log"
    log = logging.getLogger("hearth.test")
    log.info("downloading with %s", "Bearer hf_SECRETSECRETSECRET123")
    try:
        raise RuntimeError("failed with token=hf_INSIDEtraceback999")
    except RuntimeError:
        log.exception("download failed")
    _flush()
    text = path.read_text()
    assert "downloading with Bearer ***" in text
    assert "SECRETSECRET" not in text
    assert "INSIDEtraceback" not in text
    assert "Traceback" in text and "RuntimeError" in text


def test_setup_twice_replaces_the_handler_instead_of_doubling_lines(
    logs: Path, tmp_path: Path
) -> None:
    setup_logging(logs)
    second = setup_logging(tmp_path / "other")
    logging.getLogger("hearth.test").warning("once")
    _flush()
    assert second.read_text().count("once") == 1
    assert not (logs / "hearth.log").exists() or "once" not in (logs / "hearth.log").read_text()
    ours = [h for h in logging.getLogger().handlers if (h.get_name() or "").startswith("hearth")]
    assert len(ours) == 1


def test_log_rotates(logs: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(logging_setup, "MAX_BYTES", 2000)
    monkeypatch.setattr(logging_setup, "BACKUP_COUNT", 2)
    path = setup_logging(logs)
    log = logging.getLogger("hearth.test")
    for i in range(200):
        log.info("line %03d %s", i, "x" * 40)
    _flush()
    assert (logs / "hearth.log.1").exists()
    assert (logs / "hearth.log.2").exists()
    assert not (logs / "hearth.log.3").exists()
    assert path.stat().st_size <= 2000
    last = recent_log_lines(logs, 5)
    assert len(last) == 5 and "line 199" in last[-1]


def test_recent_lines_reach_into_the_rotated_file(tmp_path: Path) -> None:
    (tmp_path / "hearth.log.1").write_text("old 1\nold 2\nold 3\n")
    (tmp_path / "hearth.log").write_text("new 1\n")
    assert recent_log_lines(tmp_path, 3) == ["old 2", "old 3", "new 1"]


def test_tail_lines_of_a_big_file_drops_the_cut_line(tmp_path: Path) -> None:
    path = tmp_path / "big.log"
    path.write_text("".join(f"line {i}\n" for i in range(100_000)))
    lines = tail_lines(path, 3, max_bytes=1000)
    assert lines == ["line 99997", "line 99998", "line 99999"]
    assert tail_lines(tmp_path / "missing.log", 3) == []


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_uncaught_thread_exception_is_logged(logs: Path) -> None:
    path = setup_logging(logs)

    def boom() -> None:
        raise ValueError("thread failed, key sk-abcdefghijklmnop")

    thread = threading.Thread(target=boom, name="worker-x")
    thread.start()
    thread.join()
    _flush()
    text = path.read_text()
    assert "Uncaught exception in thread worker-x" in text
    assert "ValueError" in text and "sk-abcdefghijklmnop" not in text


def test_teardown_restores_the_excepthooks(tmp_path: Path) -> None:
    import sys

    before = (sys.excepthook, threading.excepthook)
    setup_logging(tmp_path)
    assert sys.excepthook is not before[0]
    teardown_logging()
    assert (sys.excepthook, threading.excepthook) == before


def test_filter_survives_a_bad_format_string() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "%d apples", ("many",), None)
    assert RedactionFilter().filter(record)
    assert "apples" in record.getMessage()
