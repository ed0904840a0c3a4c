"""Hearth's own log: ``logs/hearth.log`` under the data root, rotated, with secrets redacted.

Why a file: a double-clicked app has no terminal, so without it a user has nothing to attach
to a bug report. Why redaction at the record level: log lines end up pasted into public issues
(see ``app.backend.diagnostics``), and one careless ``log.info("%s", headers)`` must not leak
a Hugging Face token or an API key. llama.cpp's own output goes to ``logs/engine.log``
(written by the engine process), which is left alone here.
"""

from __future__ import annotations

import logging
import logging.handlers
import re
import sys
import threading
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import Any

LOG_FILE_NAME = "hearth.log"
MAX_BYTES = 2 * 1024 * 1024
BACKUP_COUNT = 5
FORMAT = "%(asctime)s %(levelname)-7s %(process)d %(threadName)s %(name)s: %(message)s"
_HANDLER_NAME = "hearth-file"

REDACTED = "***"
# Each pattern keeps its group 1 (the label) and replaces the secret that follows it.
_SECRET_PATTERNS: tuple[re.Pattern[str], ...] = (
    # Authorization headers: "Bearer <token>", "Basic <base64>".
    re.compile(r"\b((?:Bearer|Basic)\s+)[A-Za-z0-9._~+/=\-]{8,}", re.IGNORECASE),
    # Hugging Face, OpenAI/Anthropic style, GitHub and Slack tokens by their prefixes.
    re.compile(r"\b(hf_)[A-Za-z0-9]{8,}"),
    re.compile(r"\b(sk-)[A-Za-z0-9_\-]{8,}"),
    re.compile(r"\b(gh[pousr]_)[A-Za-z0-9]{8,}"),
    re.compile(r"\b(github_pat_)[A-Za-z0-9_]{8,}"),
    re.compile(r"\b(xox[abpr]-)[A-Za-z0-9\-]{8,}"),
    # key=value / "key": "value" where the key names a secret.
    re.compile(
        r"""((?:api[_-]?key|access[_-]?token|auth[_-]?token|token|secret|password|passwd)"""
        r"""["']?\s*[:=]\s*["']?)(?!\*\*\*)[^\s"',;&]{4,}""",
        re.IGNORECASE,
    ),
)


def redact(text: str) -> str:
    """``text`` with anything that looks like a credential replaced by ``***``."""
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(lambda m: m.group(1) + REDACTED, text)
    return text


class RedactionFilter(logging.Filter):
    """Redacts a record's message, arguments and traceback before any handler formats it."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: keep what we can, redacted
            message = f"{record.msg!r} % {record.args!r}"
        record.msg = redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


def log_file(logs_dir: Path) -> Path:
    return Path(logs_dir) / LOG_FILE_NAME


def setup_logging(
    logs_dir: Path,
    *,
    level: int = logging.INFO,
    console: bool = False,
    capture_uncaught: bool = True,
) -> Path:
    """Send the root logger to a rotating ``hearth.log`` in ``logs_dir``; returns its path.

    Idempotent: calling it again (another data root, as tests do) replaces Hearth's handlers
    instead of adding more. ``console`` also echoes to stderr (for ``hearth serve``).
    """
    logs_dir = Path(logs_dir)
    logs_dir.mkdir(parents=True, exist_ok=True)
    path = log_file(logs_dir)
    root = logging.getLogger()
    teardown_logging()

    handler = logging.handlers.RotatingFileHandler(
        path, maxBytes=MAX_BYTES, backupCount=BACKUP_COUNT, encoding="utf-8", delay=True
    )
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.addFilter(RedactionFilter())
    root.addHandler(handler)
    if console:
        stream = logging.StreamHandler(sys.stderr)
        stream.set_name(_HANDLER_NAME + "-console")
        stream.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        stream.addFilter(RedactionFilter())
        root.addHandler(stream)
    root.setLevel(level)
    logging.captureWarnings(True)
    if capture_uncaught:
        _install_excepthooks()
    return path


def teardown_logging() -> None:
    """Remove and close the handlers ``setup_logging`` added, and put the hooks back."""
    global _saved_hooks
    root = logging.getLogger()
    for handler in list(root.handlers):
        if (handler.get_name() or "").startswith(_HANDLER_NAME):
            root.removeHandler(handler)
            handler.close()
    if _saved_hooks is not None:
        sys.excepthook, threading.excepthook = _saved_hooks
        _saved_hooks = None


_saved_hooks: tuple[Any, Any] | None = None


def _install_excepthooks() -> None:
    """Uncaught exceptions (main thread and others) go to the log, not to a missing terminal."""
    global _saved_hooks
    previous = sys.excepthook
    if _saved_hooks is not None:
        return
    _saved_hooks = (sys.excepthook, threading.excepthook)

    def hook(kind: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
        if not issubclass(kind, KeyboardInterrupt):
            logging.getLogger("hearth.uncaught").critical(
                "Uncaught exception", exc_info=(kind, value, tb)
            )
        previous(kind, value, tb)

    sys.excepthook = hook
    previous_thread_hook = threading.excepthook

    def thread_hook(args: threading.ExceptHookArgs) -> None:
        if args.exc_type is not SystemExit and args.exc_value is not None:
            name = args.thread.name if args.thread else "?"
            logging.getLogger("hearth.uncaught").critical(
                "Uncaught exception in thread %s",
                name,
                exc_info=(args.exc_type, args.exc_value, args.exc_traceback),
            )
        previous_thread_hook(args)

    threading.excepthook = thread_hook


def tail_lines(path: Path, count: int, max_bytes: int = 256 * 1024) -> list[str]:
    """The last ``count`` lines of a text file (reads at most ``max_bytes`` from its end)."""
    try:
        with open(path, "rb") as fh:
            fh.seek(0, 2)
            size = fh.tell()
            fh.seek(max(0, size - max_bytes))
            data = fh.read()
    except OSError:
        return []
    lines = data.decode("utf-8", errors="replace").splitlines()
    if size > max_bytes and lines:
        lines = lines[1:]  # the first one is probably cut
    return lines[-count:] if count > 0 else []


def recent_log_lines(logs_dir: Path, count: int) -> list[str]:
    """The newest ``count`` lines of Hearth's log, reaching into the rotated file if needed."""
    current = tail_lines(log_file(logs_dir), count)
    if len(current) >= count:
        return current
    older = tail_lines(Path(str(log_file(logs_dir)) + ".1"), count - len(current))
    return [*older, *current]


def redact_lines(lines: Iterable[str]) -> list[str]:
    return [redact(line) for line in lines]
