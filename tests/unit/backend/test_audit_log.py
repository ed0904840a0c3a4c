"""The audit log: append-only JSON lines, a hash chain that shows tampering, exports."""

from __future__ import annotations

import csv
import json
import multiprocessing
import os
import stat
import threading
from pathlib import Path

import pytest

from app.backend.audit import GENESIS, AuditLog, entry_hash


def _add(log: AuditLog, n: int = 1, client: str = "ci-token") -> None:
    for i in range(n):
        log.append(client=client, model="m", tokens_in=10 + i, tokens_out=5, status=200)


def test_lines_chain_and_hold_no_content(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit" / "api.jsonl")
    first = log.append(
        client="alice", model="m", tokens_in=12, tokens_out=34, status=200, path="/v1/chat"
    )
    second = log.append(
        client="bob", model="remote:lab/x", tokens_in=1, tokens_out=0, status=503, engine="r"
    )
    assert first["prev"] == GENESIS and second["prev"] == first["hash"]
    assert (first["seq"], second["seq"]) == (1, 2)
    assert first["hash"] == entry_hash(first)
    lines = log.path.read_text().splitlines()
    assert [json.loads(line)["client"] for line in lines] == ["alice", "bob"]
    assert set(json.loads(lines[0])) == {
        "seq", "time", "client", "model", "engine", "tokens_in", "tokens_out", "status",
        "path", "prev", "hash",
    }  # fmt: skip
    assert log.verify().ok and log.verify().entries == 2
    if os.name == "posix":
        assert stat.S_IMODE(log.path.stat().st_mode) == 0o600


def test_an_edited_line_breaks_the_chain(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "api.jsonl")
    _add(log, 3)
    lines = log.path.read_text().splitlines()
    entry = json.loads(lines[1])
    entry["tokens_out"] = 0
    lines[1] = json.dumps(entry)
    log.path.write_text("\n".join(lines) + "\n")
    result = log.verify()
    assert not result.ok and result.line == 2 and "edited" in result.problem


def test_a_deleted_middle_line_or_cut_tail_shows(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "api.jsonl")
    _add(log, 4)
    original = log.path.read_text().splitlines()
    log.path.write_text("\n".join(original[:1] + original[2:]) + "\n")
    assert log.verify().line == 2
    log.path.write_text("\n".join(original[:3]) + "\n")
    result = log.verify()
    assert not result.ok and "end" in result.problem


def test_appends_continue_the_chain_after_reopening(tmp_path: Path) -> None:
    _add(AuditLog(tmp_path / "api.jsonl"), 2)
    log = AuditLog(tmp_path / "api.jsonl")
    _add(log, 1)
    assert log.entries()[-1]["seq"] == 3 and log.verify().ok


def test_threads_append_without_breaking_the_chain(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "api.jsonl")
    threads = [threading.Thread(target=_add, args=(log, 20, f"t{n}")) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert log.verify().ok and len(log.entries()) == 80


def _child(path: str) -> None:
    _add(AuditLog(Path(path)), 25, "child")


@pytest.mark.skipif(os.name != "posix", reason="flock")
def test_two_processes_append_to_one_chain(tmp_path: Path) -> None:
    path = tmp_path / "api.jsonl"
    ctx = multiprocessing.get_context("spawn")
    child = ctx.Process(target=_child, args=(str(path),))
    child.start()
    _add(AuditLog(path), 25, "parent")
    child.join(60)
    assert child.exitcode == 0
    log = AuditLog(path)
    assert log.verify().ok and len(log.entries()) == 50


def test_exports(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "api.jsonl")
    _add(log, 2)
    assert log.export_csv(tmp_path / "a.csv") == 2
    rows = list(csv.DictReader((tmp_path / "a.csv").open()))
    assert rows[1]["tokens_in"] == "11" and rows[1]["prev"] == rows[0]["hash"]
    assert log.export_jsonl(tmp_path / "a.jsonl") == 2
    copy = AuditLog(tmp_path / "a.jsonl")
    assert [e["hash"] for e in copy.entries()] == [e["hash"] for e in log.entries()]
    assert log.entries(limit=1)[0]["seq"] == 2
