"""kill -9 the whole app repeatedly while it streams replies: nothing committed is lost."""

from __future__ import annotations

import os
import random
import select
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.backend.chats import ChatStore
from tests.helpers.gguf_factory import write_tiny_llama

pytest.importorskip("llama_cpp")

ROUNDS = 6


def _run_until_killed(home: Path, rng: random.Random) -> list[int]:
    env = dict(os.environ, HEARTH_HOME=str(home), QT_QPA_PLATFORM="offscreen")
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.helpers.app_driver"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
        start_new_session=True,
    )
    assert proc.stdout is not None
    committed: list[int] = []
    deadline = time.monotonic() + 60
    kill_after = None
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], 0.05)
        if ready:
            line = proc.stdout.readline()
            if line.startswith("committed"):
                committed.append(int(line.split()[1]))
                if kill_after is None:
                    kill_after = time.monotonic() + rng.uniform(0.05, 0.6)
        if kill_after is not None and time.monotonic() >= kill_after:
            break
    os.killpg(proc.pid, signal.SIGKILL)  # the window and its engine process together
    proc.wait(10)
    assert committed, "the app never started a reply"
    return committed


def test_app_killed_during_streaming_loses_nothing_committed(isolated_home: Path) -> None:
    write_tiny_llama(isolated_home / "models" / "acme" / "tiny-llama" / "tiny-llama-F32.gguf")
    rng = random.Random(7)
    committed: list[int] = []
    for _ in range(ROUNDS):
        committed += _run_until_killed(isolated_home, rng)
        db = isolated_home / "chats.db"
        with sqlite3.connect(db) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    store = ChatStore(isolated_home / "chats.db")
    try:
        all_messages = {m.id: m for c in store.list_conversations() for m in store.messages(c.id)}
        for message_id in committed:
            assert message_id in all_messages
            assert all_messages[message_id].role == "user"
        statuses = {m.status for m in all_messages.values()}
        assert "streaming" not in statuses  # recovered as interrupted on open
        assert "interrupted" in statuses
    finally:
        store.close()
