"""``hearth usage`` and ``hearth audit`` as a user runs them (a real subprocess on a real
usage.db), checked against the stored records and arithmetic done by hand here."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from app.backend.audit import AuditLog
from app.backend.settings import SettingsStore
from app.backend.usage import UsageRecord, UsageStore

TODAY = date.today()
YESTERDAY = TODAY - timedelta(days=1)
LONG_AGO = TODAY - timedelta(days=40)


def hearth(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, HEARTH_HOME=str(home))
    return subprocess.run(
        [sys.executable, "-m", "app", *args], capture_output=True, text=True, env=env, timeout=120
    )


def _noon(day: date) -> float:
    return datetime(day.year, day.month, day.day, 12).timestamp()


@pytest.fixture
def home(isolated_home: Path) -> Path:
    isolated_home.mkdir(parents=True)
    SettingsStore(isolated_home / "settings.json").update(
        lambda s: setattr(s.costs, "electricity_price_per_kwh", 0.5)
    )
    store = UsageStore(isolated_home / "usage.db")
    rows = [
        UsageRecord("chat", "acme/tiny/F32", 1_000, 500, _noon(YESTERDAY), 2.0, 7_200.0),
        UsageRecord("api:ci", "acme/tiny/F32", 2_000, 1_000, _noon(TODAY), 3.0, None),
        UsageRecord("api:ci", "acme/big/Q4", 4_000, 3_000, _noon(TODAY), 5.0, 3_600.0),
        UsageRecord("api:ci", "remote:lab/x", 300, 100, _noon(TODAY), 1.0, None, "remote:lab"),
        UsageRecord("chat", "acme/tiny/F32", 9_999, 9_999, _noon(LONG_AGO), 9.0, 99.0),
    ]
    for row in rows:
        store.add(row)
    store.close()
    return isolated_home


def test_usage_groups_and_costs_match_the_records(home: Path) -> None:
    result = hearth("usage", "--days", "7", "--by", "model", "--csv", home=home)
    assert result.returncode == 0, result.stderr
    rows = {r["model"]: r for r in csv.DictReader(io.StringIO(result.stdout))}
    assert set(rows) == {"acme/tiny/F32", "acme/big/Q4", "remote:lab/x"}  # 40 days ago: out
    tiny, big, remote = rows["acme/tiny/F32"], rows["acme/big/Q4"], rows["remote:lab/x"]
    assert (tiny["requests"], tiny["prompt_tokens"], tiny["completion_tokens"]) == (
        "2", "3000", "1500",
    )  # fmt: skip
    # gpt-4o-mini (the default comparison): 0.15 USD in / 0.60 USD out per million tokens.
    assert float(tiny["api_cost"]) == pytest.approx((3_000 * 0.15 + 1_500 * 0.60) / 1e6)
    assert float(big["api_cost"]) == pytest.approx((4_000 * 0.15 + 3_000 * 0.60) / 1e6)
    # 7,200 J = 2 Wh = 0.002 kWh at 0.5 per kWh.
    assert float(tiny["energy_cost"]) == pytest.approx(0.001)
    assert float(tiny["savings"]) == pytest.approx(0.00135 - 0.001)
    # A remote engine's tokens are counted but neither charged nor "saved".
    assert (remote["prompt_tokens"], remote["local_tokens"], remote["api_cost"]) == (
        "300", "0", "0.000000",
    )  # fmt: skip

    claude = hearth("usage", "--since", TODAY.isoformat(), "--by", "day,source", "--csv",
                    "--compare", "claude-sonnet-4", home=home)  # fmt: skip
    [only] = list(csv.DictReader(io.StringIO(claude.stdout)))
    assert (only["day"], only["source"], only["prompt_tokens"]) == (TODAY.isoformat(), "api:ci",
                                                                     "6300")  # fmt: skip
    local_in, local_out = 2_000 + 4_000, 1_000 + 3_000
    assert float(only["api_cost"]) == pytest.approx((local_in * 3.0 + local_out * 15.0) / 1e6)
    assert only["compared_with"] == "claude-sonnet-4"


def test_usage_table_prints_totals_and_savings(home: Path) -> None:
    result = hearth("usage", "--days", "7", home=home)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert f"Usage {YESTERDAY.isoformat()} .. {TODAY.isoformat()}" in out
    assert "Tokens:            7,300 in, 4,600 out (11,500 here, 400 on remote engines)" in out
    cloud = ((1_000 + 2_000 + 4_000) * 0.15 + (500 + 1_000 + 3_000) * 0.60) / 1e6
    energy = (7_200 + 3_600) / 3.6e6 * 0.5
    assert f"Cloud equivalent:  {cloud:,.4f} USD" in out
    assert f"Savings:           {cloud - energy:,.4f} USD" in out
    table = [line.split() for line in out.splitlines() if line.startswith(TODAY.isoformat())]
    assert [(t[1], t[2], t[3]) for t in table] == [
        ("acme/big/Q4", "api:ci", "local"),
        ("acme/tiny/F32", "api:ci", "local"),
        ("remote:lab/x", "api:ci", "remote:lab"),
    ]


def test_usage_refuses_bad_options_clearly(home: Path, isolated_home: Path) -> None:
    bad = hearth("usage", "--by", "colour", home=home)
    assert bad.returncode == 1 and "cannot group by colour" in bad.stderr
    unknown = hearth("usage", "--compare", "gpt-99", home=home)
    assert unknown.returncode == 1 and "'gpt-99' is not in the price table" in unknown.stderr
    date_error = hearth("usage", "--since", "yesterday", home=home)
    assert date_error.returncode == 1 and "a date like 2026-01-31" in date_error.stderr
    empty = hearth("usage", home=isolated_home.parent / "fresh")
    assert empty.returncode == 0 and "No usage recorded yet." in empty.stdout
    assert not (isolated_home.parent / "fresh" / "usage.db").exists()  # reading creates nothing


def test_audit_shows_exports_and_verifies(home: Path, tmp_path: Path) -> None:
    log = AuditLog(home / "audit" / "api-audit.jsonl")
    for n in range(3):
        log.append(client=f"bot-{n}", model="acme/tiny/F32", tokens_in=10 + n, tokens_out=5,
                   status=200, path="/v1/chat/completions")  # fmt: skip
    shown = hearth("audit", home=home)
    assert shown.returncode == 0 and "3 entries, hash chain intact" in shown.stderr
    assert [line.split()[4] for line in shown.stdout.splitlines()] == ["bot-0", "bot-1", "bot-2"]
    exported = hearth("audit", "--csv", "-o", str(tmp_path / "audit.csv"), home=home)
    assert exported.returncode == 0
    rows = list(csv.DictReader(io.StringIO((tmp_path / "audit.csv").read_text())))
    assert [r["tokens_in"] for r in rows] == ["10", "11", "12"]
    assert hearth("audit", "--jsonl", home=home).stdout == log.path.read_text()
    log.path.write_text(log.path.read_text().replace('"tokens_in": 11', '"tokens_in": 1'))
    broken = hearth("audit", "--verify", home=home)
    assert broken.returncode == 1 and "broken at line 2" in broken.stderr
