"""Store-level crash durability: SIGKILL a writer mid-stream, again and again, on one database.

Afterwards the file must be intact, everything the writer reported as committed must be there,
and each reply that was streaming must read back as "interrupted" with (at least) its
committed text.
"""

from __future__ import annotations

import importlib.util
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType

import pytest

from app.backend.chats import ChatStore

REPO = Path(__file__).resolve().parents[2]
WRITER = REPO / "tests" / "helpers" / "chat_writer.py"
RUNS = 20

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")


def _load_writer() -> ModuleType:
    spec = importlib.util.spec_from_file_location("chat_writer", WRITER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _run_and_kill(db: Path, delay_s: float) -> dict[int, int]:
    """Start the writer, SIGKILL it after ``delay_s``; return {msg_id: committed chars}."""
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.Popen(
        [sys.executable, str(WRITER), str(db), "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=REPO,
    )
    time.sleep(delay_s)
    proc.send_signal(signal.SIGKILL)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL, err.decode(errors="replace")
    committed: dict[int, int] = {}
    for line in out.decode().splitlines(keepends=True):
        if not line.endswith("\n"):
            continue  # torn final line: not a report
        _, msg_id, n = line.split()
        committed[int(msg_id)] = max(committed.get(int(msg_id), 0), int(n))
    return committed


def test_sigkill_during_streaming_loses_nothing_committed(tmp_path: Path) -> None:
    writer = _load_writer()
    db = tmp_path / "chats.db"
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    committed: dict[int, int] = {}
    for _ in range(RUNS):
        committed.update(_run_and_kill(db, rng.uniform(0.05, 0.4)))
    context = f"(random seed {seed})"
    assert committed, f"the writer never got to commit anything {context}"

    # Raw check first, before ChatStore gets a chance to touch the file.
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok", context
    conn.close()

    with ChatStore(db) as store:
        assert store.integrity_check() == "ok"
        by_id = {m.id: m for conv in store.list_conversations() for m in store.messages(conv.id)}
        for msg_id, n in committed.items():
            assert msg_id in by_id, f"committed message {msg_id} lost {context}"
            m = by_id[msg_id]
            assert len(m.content) >= n, f"message {msg_id} lost committed text {context}"
            if m.role == "user":
                assert m.status == "complete"
                assert m.content == writer.user_text(m.conversation_id)
            else:
                assert m.status == "interrupted", context
                n_chunks = m.content.count("[")
                assert m.content == writer.stream_text(n_chunks), context
        # No reply anywhere is left claiming to stream, and nothing is half-formed.
        assert all(m.status != "streaming" for m in by_id.values())
        streamed = [m for m in by_id.values() if m.role == "assistant"]
        assert sum(1 for m in streamed if m.content) >= 1, context
