"""An append-only audit log of API use, for teams that must show where their data went.

One JSON line per API request: time, client (token name or address), model, engine (local or
which remote), token counts, HTTP status. Never any content: the signature of ``append`` has
no place for it.

Tamper evidence: every line carries ``prev`` (the previous line's hash) and ``hash`` =
sha256(prev + the line's canonical JSON without ``hash``). Editing, inserting or deleting a
line breaks the chain at that point. A small ``.head`` file beside the log holds the last
sequence number and hash, so cutting lines off the end shows too (unless both files are
rewritten together; ship the log elsewhere if that matters).

The file is opened with ``O_APPEND`` for every write and guarded by ``flock`` where the
platform has it, so the window and a ``hearth serve`` on the same data root can both append.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

GENESIS = "0" * 64
FIELDS = (
    "seq",
    "time",
    "client",
    "model",
    "engine",
    "tokens_in",
    "tokens_out",
    "status",
    "path",
)


def _canonical(entry: dict[str, Any]) -> bytes:
    body = {k: v for k, v in entry.items() if k != "hash"}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def entry_hash(entry: dict[str, Any]) -> str:
    """The hash a line must carry: sha256 over prev + canonical JSON (prev is inside it)."""
    return hashlib.sha256(str(entry.get("prev", "")).encode() + _canonical(entry)).hexdigest()


@dataclass(frozen=True)
class Verification:
    ok: bool
    entries: int
    problem: str = ""
    line: int | None = None  # 1-based line of the first problem


class AuditLog:
    """``append`` from any thread or process; ``entries``/``verify``/export from anywhere."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.head_path = self.path.with_name(self.path.name + ".head")
        self._lock = threading.Lock()

    # --------------------------------------------------------------- writing
    def append(
        self,
        *,
        client: str,
        model: str,
        tokens_in: int,
        tokens_out: int,
        status: int,
        engine: str = "local",
        path: str = "",
        timestamp: float | None = None,
    ) -> dict[str, Any]:
        """Add one line and return it (with its sequence number and hash)."""
        when = time.time() if timestamp is None else timestamp
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock, self._locked_fd() as fd:
            seq, prev = self._tail(fd)
            entry: dict[str, Any] = {
                "seq": seq + 1,
                "time": datetime.fromtimestamp(when, UTC).isoformat(timespec="milliseconds"),
                "client": str(client),
                "model": str(model),
                "engine": str(engine),
                "tokens_in": int(tokens_in),
                "tokens_out": int(tokens_out),
                "status": int(status),
                "path": str(path),
                "prev": prev,
            }
            entry["hash"] = entry_hash(entry)
            line = json.dumps(entry, sort_keys=True, ensure_ascii=False) + "\n"
            os.write(fd, line.encode())
            os.fsync(fd)
            self._write_head(entry["seq"], entry["hash"])
        return entry

    @contextlib.contextmanager
    def _locked_fd(self) -> Iterator[int]:
        flags = os.O_RDWR | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)
        fd = os.open(self.path, flags, 0o600)
        try:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX)
            yield fd
        finally:
            os.close(fd)  # closing releases the flock

    def _tail(self, fd: int) -> tuple[int, str]:
        """(seq, hash) of the last line, read backwards from the end."""
        size = os.fstat(fd).st_size
        if size == 0:
            return 0, GENESIS
        chunk = 4096
        buf = b""
        pos = size
        while pos > 0:
            step = min(chunk, pos)
            pos -= step
            buf = os.pread(fd, step, pos) + buf
            lines = buf.rstrip(b"\n").split(b"\n")
            if len(lines) > 1 or pos == 0:
                try:
                    last = json.loads(lines[-1])
                    return int(last["seq"]), str(last["hash"])
                except (ValueError, KeyError, TypeError):
                    # A damaged tail: chain on from it anyway; verify() will point at it.
                    return 0, hashlib.sha256(lines[-1]).hexdigest()
        return 0, GENESIS  # pragma: no cover

    def _write_head(self, seq: int, digest: str) -> None:
        tmp = self.head_path.with_name(self.head_path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump({"seq": seq, "hash": digest}, f)
        os.replace(tmp, self.head_path)

    # --------------------------------------------------------------- reading
    def entries(self, limit: int | None = None) -> list[dict[str, Any]]:
        """Parsed lines, oldest first (the newest ``limit`` when given); bad lines skipped."""
        out: list[dict[str, Any]] = []
        for _n, entry in self._lines():
            if entry is not None:
                out.append(entry)
        return out[-limit:] if limit else out

    def _lines(self) -> Iterator[tuple[int, dict[str, Any] | None]]:
        if not self.path.exists():
            return
        with open(self.path, encoding="utf-8", errors="replace") as f:
            for n, raw in enumerate(f, 1):
                try:
                    entry = json.loads(raw)
                    yield n, entry if isinstance(entry, dict) else None
                except ValueError:
                    yield n, None

    def verify(self) -> Verification:
        """Walk the chain; report the first line that does not fit."""
        prev, count, seq = GENESIS, 0, 0
        for n, entry in self._lines():
            if entry is None:
                return Verification(False, count, "a line is not valid JSON", n)
            if entry.get("prev") != prev:
                return Verification(False, count, "a line is missing or was inserted before", n)
            if entry.get("hash") != entry_hash(entry):
                return Verification(False, count, "a line was edited", n)
            if entry.get("seq") != seq + 1:
                return Verification(False, count, "sequence numbers are out of order", n)
            prev, seq, count = entry["hash"], seq + 1, count + 1
        head = self._read_head()
        if head is not None and (head.get("seq"), head.get("hash")) != (seq, prev):
            return Verification(False, count, "lines were removed from the end", None)
        if head is None and count:
            return Verification(False, count, "the head file is missing", None)
        return Verification(True, count)

    def _read_head(self) -> dict[str, Any] | None:
        try:
            data = json.loads(self.head_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    # --------------------------------------------------------------- export
    def csv_text(self) -> str:
        """The log as CSV (hash columns included, so the copy stays checkable)."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow((*FIELDS, "prev", "hash"))
        for e in self.entries():
            writer.writerow([e.get(k, "") for k in (*FIELDS, "prev", "hash")])
        return out.getvalue()

    def jsonl_text(self) -> str:
        """The log as stored, line for line."""
        return self.path.read_text(encoding="utf-8") if self.path.exists() else ""

    def export_csv(self, dest: Path) -> int:
        """``csv_text`` written to ``dest``; returns the rows written."""
        text = self.csv_text()
        dest.write_text(text, encoding="utf-8", newline="")
        return text.count("\n") - 1

    def export_jsonl(self, dest: Path) -> int:
        """A byte-for-byte copy of the log (verifiable with the same chain)."""
        data = self.path.read_bytes() if self.path.exists() else b""
        dest.write_bytes(data)
        return data.count(b"\n")


__all__ = ["FIELDS", "GENESIS", "AuditLog", "Verification", "entry_hash"]
