"""``hearth pull REPO[:QUANT]``: download a model from Hugging Face into the library.

The same code path as the Discover page (``HubClient`` + ``DownloadManager``): the file is
resumed if a partial one exists, verified against the Hub's sha256 and only then installed.
Exit codes: 0 installed, 1 failed, 3 verification failed (file quarantined), 130 paused by
Ctrl+C (run the same command again to resume).
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from typing import TYPE_CHECKING, TextIO

from app.backend.units import human_time_left
from app.cli.output import fail, human_size

if TYPE_CHECKING:
    from app.backend.hub import GGUFEntry, RepoDetails

EXIT_VERIFY_FAILED = 3
EXIT_INTERRUPTED = 130
PREFERRED_QUANTS = ("Q4_K_M", "Q4_K_S", "Q5_K_M", "IQ4_XS", "Q4_0", "Q6_K", "Q8_0")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "pull",
        help="download a GGUF model from Hugging Face",
        description="Download a GGUF model from Hugging Face, verified against its sha256.",
    )
    parser.add_argument(
        "model",
        metavar="REPO[:QUANT]",
        help="user/repo, user/repo:Q4_K_M, or a Hugging Face link (to a repo or one file)",
    )
    parser.add_argument(
        "--mmproj",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also fetch the repo's vision projector, as Discover does (default: yes)",
    )
    parser.add_argument("--list", action="store_true", help="list the quantizations and exit")
    parser.set_defaults(func=_pull)


def _choose(details: RepoDetails, quant: str | None, filename: str | None) -> GGUFEntry:
    """The entry the user asked for, or the usual default (Q4_K_M, then similar)."""
    if filename:
        for candidate in details.entries:
            if filename in (p.path for p in candidate.parts):
                return candidate
        raise LookupError(f"{details.repo_id} has no file {filename}.")
    if quant:
        found = details.find_quant(quant)
        if found is None:
            have = ", ".join(e.quant for e in details.models) or "none"
            raise LookupError(f"{details.repo_id} has no {quant} file (available: {have}).")
        return found
    for preferred in PREFERRED_QUANTS:
        found = details.find_quant(preferred)
        if found is not None:
            return found
    if not details.models:
        raise LookupError(f"{details.repo_id} has no GGUF model files.")
    return details.models[0]


def _pull(args: argparse.Namespace) -> int:
    from app.backend.core import HearthCore
    from app.backend.downloads import DiskFullError, plan_model_downloads
    from app.backend.hub import BadRepoReference, HubError, parse_repo_reference

    core = HearthCore()
    try:
        client = core.hub()
        ref = parse_repo_reference(args.model, client.endpoint)
        details = client.repo_details(ref.repo_id, ref.revision)
    except (BadRepoReference, HubError) as exc:
        return fail(str(exc))
    if args.list:
        for e in details.entries:
            kind = "projector" if e.is_mmproj else e.quant
            print(f"{kind:<10} {human_size(e.size):>9}  {e.label}")
        return 0
    try:
        entry = _choose(details, ref.quant, ref.filename)
    except LookupError as exc:
        return fail(str(exc))
    if not entry.complete:
        return fail(f"{entry.label} is missing some of its split parts on Hugging Face.")
    specs = plan_model_downloads(client, details, entry, with_projector=args.mmproj)
    manager = core.downloads
    try:
        records = [manager.enqueue(s) for s in specs]
    except DiskFullError as exc:
        return fail(str(exc))
    ids = [r.id for r in records]
    bar = ProgressBar(sys.stderr, total=sum(s.size for s in specs), label=entry.label)
    manager.add_listener(lambda _rec: bar.update(manager, ids))
    manager.start()
    try:
        finished = _wait(manager, ids, bar)
    except KeyboardInterrupt:
        for rid in ids:
            manager.pause(rid)
        manager.shutdown()
        bar.done()
        print("hearth: paused; run the same command again to resume.", file=sys.stderr)
        return EXIT_INTERRUPTED
    manager.shutdown()
    bar.update(manager, ids)
    bar.done()
    return _report(finished)


def _wait(manager: object, ids: list[str], bar: ProgressBar) -> list[object]:
    from app.backend.downloads import DownloadManager

    assert isinstance(manager, DownloadManager)
    while True:
        recs = manager.wait(ids, timeout=0.5)
        bar.update(manager, ids)
        if all(r.status in ("completed", "failed", "cancelled", "quarantined") for r in recs):
            return list(recs)


def _report(records: list[object]) -> int:
    from app.backend.downloads import DownloadRecord

    code = 0
    for rec in records:
        assert isinstance(rec, DownloadRecord)
        if rec.status == "completed":
            print(rec.installed_path)
        elif rec.status == "quarantined":
            fail(rec.error)
            code = EXIT_VERIFY_FAILED
        else:
            fail(rec.error or f"{rec.spec.filename}: {rec.status}")
            code = code or 1
    return code


class ProgressBar:
    """One line on a terminal (redrawn with ``\\r``); a line per 10% when not a terminal."""

    def __init__(self, stream: TextIO, total: int, label: str, width: int = 28) -> None:
        self.stream = stream
        self.total = max(1, total)
        self.label = label
        self.width = width
        self.tty = stream.isatty()
        self._lock = threading.Lock()
        self._last_draw = 0.0
        self._last_decile = -1
        self._drawn = False

    def update(self, manager: object, ids: list[str]) -> None:
        from app.backend.downloads import DownloadManager

        assert isinstance(manager, DownloadManager)
        recs = [manager.get(r) for r in ids]
        done = sum(r.bytes_done for r in recs)
        speed = sum(r.speed_bps for r in recs)
        note = next((r.error for r in recs if r.error and r.status == "downloading"), "")
        verifying = any(r.status == "verifying" for r in recs)
        with self._lock:
            now = time.monotonic()
            frac = min(1.0, done / self.total)
            if self.tty:
                if now - self._last_draw < 0.1 and frac < 1.0:
                    return
                filled = int(frac * self.width)
                eta = (self.total - done) / speed if speed > 0 else None
                rate = f"{human_size(speed)}/s  {human_time_left(eta, compact=True)}"
                tail = "verifying…" if verifying else note or (rate if speed else "")
                line = (
                    f"\r{self.label[:40]:<40} [{'#' * filled}{'.' * (self.width - filled)}] "
                    f"{frac * 100:5.1f}%  {human_size(done)}/{human_size(self.total)}  {tail}"
                )
                self.stream.write(line[:160].ljust(120))
                self._drawn = True
            else:
                decile = int(frac * 10)
                if decile == self._last_decile:
                    return
                self._last_decile = decile
                self.stream.write(
                    f"{self.label}: {frac * 100:.0f}% ({human_size(done)} of "
                    f"{human_size(self.total)})\n"
                )
            self._last_draw = now
            self.stream.flush()

    def done(self) -> None:
        with self._lock:
            if self.tty and self._drawn:
                self.stream.write("\n")
                self.stream.flush()
