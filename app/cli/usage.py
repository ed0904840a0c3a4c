"""``hearth usage`` (tokens, local cost, cloud equivalent, savings) and ``hearth audit`` (the
API audit log: show, verify, export), read from the data root without starting anything.

Both read files only: ``usage.db`` (opened read-only, never created), the settings' cost
options, the price table, and ``audit/api-audit.jsonl``.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
from pathlib import Path
from typing import Any

USAGE_EPILOG = (
    "Examples: 'hearth usage --days 30 --by model', "
    "'hearth usage --since 2026-01-01 --by day,source --csv > usage.csv'."
)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    usage = subparsers.add_parser(
        "usage",
        help="tokens per model, day and source, local cost against cloud prices, savings",
        epilog=USAGE_EPILOG,
    )
    period = usage.add_mutually_exclusive_group()
    period.add_argument("--days", type=int, default=None, help="the last N days (incl. today)")
    period.add_argument("--since", default=None, help="from this day on (YYYY-MM-DD)")
    usage.add_argument(
        "--by",
        default="day,model,source,engine",
        help="group by any of day, model, source, engine (comma-separated; default: all four)",
    )
    usage.add_argument(
        "--compare", default=None, help="cloud price id to compare with (default: the setting)"
    )
    usage.add_argument("--csv", action="store_true", help="CSV instead of a table")
    usage.add_argument("--output", "-o", default=None, help="write to this file, not stdout")
    usage.set_defaults(func=_usage)

    audit = subparsers.add_parser(
        "audit", help="show, verify or export the API audit log (no content is ever in it)"
    )
    audit.add_argument("--limit", type=int, default=50, help="entries to show (newest last)")
    fmt = audit.add_mutually_exclusive_group()
    fmt.add_argument("--csv", action="store_true", help="the whole log as CSV")
    fmt.add_argument("--jsonl", action="store_true", help="the whole log, line for line")
    audit.add_argument("--output", "-o", default=None, help="write to this file, not stdout")
    audit.add_argument(
        "--verify", action="store_true", help="check the hash chain; exit 1 if it is broken"
    )
    audit.set_defaults(func=_audit)


# ------------------------------------------------------------------- usage
def _usage(args: argparse.Namespace) -> int:
    from app.backend.costs import build_report, load_prices, usage_csv
    from app.backend.costs.summary import group_usage, groups_csv, parse_dimensions, since_day
    from app.backend.paths import DataPaths
    from app.backend.settings import SettingsStore
    from app.cli.output import fail

    try:
        by = parse_dimensions(args.by)
        first = since_day(args.days, args.since)
    except ValueError as exc:
        return fail(str(exc))
    paths = DataPaths.default()
    costs = SettingsStore(paths.settings_file).load().costs
    prices, warning = load_prices(paths.root)
    if warning:
        print(f"hearth: {warning}", file=sys.stderr)
    compare_id = args.compare or costs.compare_with
    compare = prices.get(compare_id)
    if compare is None:
        known = ", ".join(prices.ids())
        return fail(f"'{compare_id}' is not in the price table; choose one of: {known}")
    try:
        rows = _daily(paths.root / "usage.db", first)
    except sqlite3.Error as exc:
        return fail(f"could not read usage.db: {exc}")

    if args.csv:
        if by == ("day", "model", "source", "engine"):
            text = usage_csv(rows, costs, prices, compare.id)  # the Usage page's export
        else:
            text = groups_csv(group_usage(rows, by, costs, compare), by, costs.currency, compare)
        return _emit(text, args.output)
    if not rows:
        return _emit("No usage recorded" + (f" since {first}." if first else " yet.") + "\n", None)
    groups = group_usage(rows, by, costs, compare)
    report = build_report(rows, costs, prices, compare.id)
    lines = [
        f"Usage {rows[0].day} .. {rows[-1].day}, compared with {compare.id} "
        f"({compare.input_per_mtok:g}/{compare.output_per_mtok:g} USD per 1M tokens in/out, "
        f"prices as of {prices.as_of or 'unknown'})",
        "",
        *_table(groups, by, costs.currency),
        "",
        *_summary(report),
    ]
    return _emit("\n".join(lines) + "\n", args.output)


def _daily(db: Path, first: str | None) -> list[Any]:
    """Daily rows from ``usage.db`` without creating it (a fresh install has none)."""
    from app.backend.usage.store import UsageStore

    if not db.exists():
        return []
    store = UsageStore(db)
    try:
        return store.daily(first)
    finally:
        store.close()


def _table(groups: list[Any], by: tuple[str, ...], currency: str) -> list[str]:
    head = [d.upper() for d in by] + ["REQS", "IN", "OUT", "LOCAL COST", "CLOUD COST", "SAVED"]
    body = [
        [
            *g.key,
            str(g.requests),
            f"{g.prompt_tokens:,}",
            f"{g.completion_tokens:,}",
            _money(g.energy_cost) if g.local_tokens else "-",
            _money(g.api_cost) if g.local_tokens else "-",
            _money(g.savings) if g.local_tokens else "-",
        ]
        for g in groups
    ]
    widths = [max(len(row[i]) for row in [head, *body]) for i in range(len(head))]
    numeric = len(by)

    def line(cells: list[str]) -> str:
        parts = [
            c.rjust(w) if i >= numeric else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        return "  ".join(parts).rstrip()

    return [line(head), *(line(r) for r in body), f"(costs in {currency})"]


def _summary(r: Any) -> list[str]:
    cur = r.currency
    total = r.total_prompt_tokens + r.total_completion_tokens
    remote = total - r.local_tokens
    measured = f", {r.measured_share:.0%} of local tokens measured" if r.local_tokens else ""
    lines = [
        f"Tokens:            {r.total_prompt_tokens:,} in, {r.total_completion_tokens:,} out "
        f"({r.local_tokens:,} here, {remote:,} on remote engines)",
        f"Local cost:        {_money(r.energy_cost)} {cur} electricity{measured}",
        f"Cloud equivalent:  {_money(r.api_cost)} {cur}",
        f"Savings:           {_money(r.savings)} {cur}",
    ]
    if r.break_even_months is not None:
        lines.append(
            f"Break-even:        month {r.break_even_months:.1f} (about {r.break_even_date}), "
            f"at {_money(r.savings_per_month)} {cur} saved a month"
        )
    else:
        lines.append("Break-even:        - (set a hardware price in Settings, or no savings yet)")
    return lines


def _money(value: float) -> str:
    """Four decimals: a day of local use often costs well under a cent."""
    return f"{value:,.4f}"


def _emit(text: str, output: str | None) -> int:
    if output:
        Path(output).write_text(text, encoding="utf-8", newline="")
        print(f"Wrote {output}.", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


# ------------------------------------------------------------------- audit
def _audit(args: argparse.Namespace) -> int:
    from app.backend.audit import AuditLog
    from app.backend.paths import DataPaths

    log = AuditLog(DataPaths.default().root / "audit" / "api-audit.jsonl")
    check = log.verify()
    if args.csv or args.jsonl:
        text = log.csv_text() if args.csv else log.jsonl_text()
        _emit(text, args.output)
    else:
        entries = log.entries(limit=max(args.limit, 1))
        lines = [_audit_line(e) for e in entries] or ["The audit log is empty."]
        _emit("\n".join(lines) + "\n", args.output)
    if check.ok:
        print(f"Audit log: {check.entries} entries, hash chain intact.", file=sys.stderr)
        return 0
    where = f" at line {check.line}" if check.line else ""
    print(f"Audit log: hash chain broken{where}: {check.problem}.", file=sys.stderr)
    return 1 if args.verify else 0


def _audit_line(e: dict[str, Any]) -> str:
    when = str(e.get("time", "")).replace("T", " ")[:19]
    return (
        f"{e.get('seq', ''):>5}  {when}  {e.get('status', '')}  {e.get('client', '') or '-'}  "
        f"{e.get('path', '')}  {e.get('model', '') or '-'}  {e.get('engine', '')}  "
        f"in {e.get('tokens_in', 0)} out {e.get('tokens_out', 0)}"
    )
