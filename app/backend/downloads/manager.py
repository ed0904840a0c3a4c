"""The download queue: a few files at a time, pause/resume/cancel, retries, persistence.

Each running download has its own thread and stop flag; the queue state is a list of
immutable ``DownloadRecord`` snapshots published to listeners (the UI bridge, the CLI's
progress bar) from those threads. A record's id is derived from what it fetches, so
``hearth pull`` run again after a crash finds the same partial file even if the state file
was lost. Interrupted downloads come back as queued and resume with a Range request.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from app.backend.downloads import transfer
from app.backend.downloads.finalize import SPACE_MARGIN, check_disk_space, verify_and_install
from app.backend.downloads.state import StateFile
from app.backend.downloads.types import (
    ACTIVE,
    FINISHED,
    DiskFullError,
    DownloadError,
    DownloadRecord,
    DownloadSpec,
    Stopped,
    TransientError,
    VerificationError,
)
from app.backend.hub import http

log = logging.getLogger(__name__)
Listener = Callable[[DownloadRecord], None]
PUBLISH_INTERVAL_S = 0.25
SAVE_INTERVAL_S = 5.0


def record_id(spec: DownloadSpec) -> str:
    key = f"{spec.repo_id}/{spec.filename}@{spec.sha256 or spec.revision}"
    return hashlib.sha256(key.encode()).hexdigest()[:16]


class DownloadManager:
    """Runs downloads of ``DownloadSpec`` into ``models_folder``; thread-safe."""

    def __init__(
        self,
        downloads_dir: Path,
        models_folder: Path,
        *,
        max_concurrent: int = 2,
        headers: Callable[[], dict[str, str]] = dict,
        max_attempts: int = 8,
        backoff_s: tuple[float, float] = (0.5, 30.0),
        space_margin: int = SPACE_MARGIN,
    ) -> None:
        self.downloads_dir = downloads_dir
        self.models_folder = models_folder
        self.max_concurrent = max(1, max_concurrent)
        self.max_attempts = max_attempts
        self.backoff_s = backoff_s
        self.space_margin = space_margin
        self._headers = headers
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._listeners: list[Listener] = []
        self._stops: dict[str, threading.Event] = {}
        self._threads: dict[str, threading.Thread] = {}
        self._responses: dict[str, http.Response] = {}
        self._state = StateFile(downloads_dir / "state.json")
        self._records: dict[str, DownloadRecord] = {}
        self._started = False
        self._closing = False
        self._last_save = 0.0
        for rec in self._state.load():
            if rec.status in ("downloading", "verifying"):
                rec = rec.with_(status="queued", error="")  # interrupted: resume it
            self._records[rec.id] = rec

    # ------------------------------------------------------------------ public API
    def add_listener(self, listener: Listener) -> None:
        with self._lock:
            self._listeners.append(listener)

    def remove_listener(self, listener: Listener) -> None:
        with self._lock:
            if listener in self._listeners:
                self._listeners.remove(listener)

    def records(self) -> list[DownloadRecord]:
        with self._lock:
            return list(self._records.values())

    def get(self, rid: str) -> DownloadRecord:
        with self._lock:
            return self._records[rid]

    def part_path(self, rid: str) -> Path:
        return self.downloads_dir / f"{rid}.part"

    @property
    def quarantine_dir(self) -> Path:
        return self.downloads_dir / "quarantine"

    def start(self) -> None:
        """Begin running queued downloads (including ones interrupted last time)."""
        with self._lock:
            self._started = True
        self._dispatch()

    def set_max_concurrent(self, n: int) -> None:
        with self._lock:
            self.max_concurrent = max(1, n)
        self._dispatch()

    def enqueue(self, spec: DownloadSpec, *, then: Iterable[DownloadSpec] = ()) -> DownloadRecord:
        """Queue ``spec``; an identical active download is returned instead of duplicated.

        ``then``: companions (a model's vision projector) queued once this file is
        installed, unless already in the library; kept in the state file, so a restart
        does not lose them. Raises ``DiskFullError`` when the file can't fit on the disk.
        """
        rid = record_id(spec)
        with self._lock:
            existing = self._records.get(rid)
            if existing is not None and existing.status in (*ACTIVE, "paused"):
                if existing.status == "paused":
                    self.resume(rid)
                return self._records[rid]
            part = self.part_path(rid)
            have = part.stat().st_size if part.exists() else 0
            check_disk_space(self.downloads_dir, max(0, spec.size - have), self.space_margin)
            extra = {"then": [c.to_dict() for c in then]} if then else {}
            rec = DownloadRecord(
                rid, spec, "queued", bytes_done=have, created_at=time.time(), extra=extra
            )
            self._records.pop(rid, None)
            self._records[rid] = rec
        self._publish(rec, save=True)
        self._dispatch()
        return rec

    def pause(self, rid: str) -> None:
        with self._lock:
            rec = self._records.get(rid)
            if rec is None or rec.status not in ("queued", "downloading"):
                return
            rec = rec.with_(status="paused", speed_bps=0.0, error="")
            self._records[rid] = rec
            self._stop_locked(rid)
        self._publish(rec, save=True)

    def resume(self, rid: str) -> None:
        with self._lock:
            rec = self._records.get(rid)
            if rec is None or rec.status not in ("paused", "failed"):
                return
            rec = rec.with_(status="queued", error="", attempts=0)
            self._records[rid] = rec
        self._publish(rec, save=True)
        self._dispatch()

    def cancel(self, rid: str) -> None:
        """Stop and delete the partial file; the record stays as "cancelled" until removed."""
        with self._lock:
            rec = self._records.get(rid)
            if rec is None or rec.status in FINISHED:
                return
            rec = rec.with_(status="cancelled", speed_bps=0.0, bytes_done=0, error="")
            self._records[rid] = rec
            running = rid in self._threads
            if running:
                self._stop_locked(rid)
        if not running:
            self.part_path(rid).unlink(missing_ok=True)
        self._publish(rec, save=True)

    def remove(self, rid: str) -> None:
        """Forget a finished download (from the list only)."""
        with self._lock:
            rec = self._records.get(rid)
            if rec is None or rec.status not in FINISHED:
                return
            del self._records[rid]
            self._save_locked()

    def wait(self, rids: Iterable[str], timeout: float | None = None) -> list[DownloadRecord]:
        """Block until every download in ``rids`` is finished or paused."""
        ids = list(rids)
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._changed:
            while True:
                recs = [self._records[r] for r in ids if r in self._records]
                if all(r.status in (*FINISHED, "paused") for r in recs):
                    return recs
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return recs
                self._changed.wait(0.5 if left is None else min(left, 0.5))

    def shutdown(self, timeout: float = 10.0) -> None:
        """Stop every transfer; running ones stay "queued" so the next start resumes them."""
        with self._lock:
            self._closing = True
            threads = list(self._threads.values())
            for rid in list(self._stops):
                self._stop_locked(rid)
        for t in threads:
            t.join(timeout)
        with self._lock:
            self._save_locked()

    # ------------------------------------------------------------------ internals
    def _enqueue_companions(self, rec: DownloadRecord) -> None:
        """Queue what should follow ``rec`` (its projector), skipping files already there."""
        for data in rec.extra.get("then", []):
            spec = DownloadSpec(**data)
            target = self.models_folder / spec.dest
            if target.is_file() and target.stat().st_size == spec.size:
                continue
            try:
                self.enqueue(spec)
            except DownloadError as exc:  # e.g. no space left for it: say so in the list
                failed = DownloadRecord(
                    record_id(spec), spec, "failed", error=str(exc), created_at=time.time()
                )
                with self._lock:
                    self._records[failed.id] = failed
                self._publish(failed, save=True)

    def _stop_locked(self, rid: str) -> None:
        """Set the stop flag and unblock a read in progress (no waiting for the socket)."""
        stop = self._stops.get(rid)
        if stop is not None:
            stop.set()
        resp = self._responses.get(rid)
        if resp is not None:
            resp.abort()

    def _track(self, rid: str, resp: http.Response | None) -> None:
        with self._lock:
            if resp is None:
                self._responses.pop(rid, None)
            else:
                self._responses[rid] = resp

    def _publish(self, rec: DownloadRecord, *, save: bool = False) -> None:
        with self._changed:
            self._changed.notify_all()
            if save or time.monotonic() - self._last_save > SAVE_INTERVAL_S:
                self._save_locked()
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(rec)
            except Exception:  # a broken listener must not kill a download
                log.exception("download listener failed")

    def _save_locked(self) -> None:
        self._last_save = time.monotonic()
        self._state.save(list(self._records.values()))

    def _dispatch(self) -> None:
        with self._lock:
            if not self._started or self._closing:
                return
            free = self.max_concurrent - len(self._threads)
            for rec in list(self._records.values()):
                if free <= 0:
                    break
                if rec.status != "queued" or rec.id in self._threads:
                    continue
                stop = threading.Event()
                self._stops[rec.id] = stop
                thread = threading.Thread(
                    target=self._run, args=(rec.id, stop), name=f"download-{rec.id}", daemon=True
                )
                self._threads[rec.id] = thread
                free -= 1
                thread.start()

    def _update(self, rid: str, **changes: object) -> DownloadRecord | None:
        """Apply ``changes`` unless the user paused or cancelled meanwhile."""
        with self._lock:
            rec = self._records.get(rid)
            if rec is None or rec.status in ("paused", "cancelled"):
                return None
            rec = rec.with_(**changes)
            self._records[rid] = rec
            return rec

    def _run(self, rid: str, stop: threading.Event) -> None:
        try:
            self._run_attempts(rid, stop)
        except Exception as exc:  # never leave a record stuck in "downloading"
            log.exception("download %s crashed", rid)
            rec = self._update(rid, status="failed", error=f"Unexpected error: {exc}")
            if rec:
                self._publish(rec, save=True)
        finally:
            with self._lock:
                self._threads.pop(rid, None)
                self._stops.pop(rid, None)
                closing = self._closing
                rec = self._records.get(rid)
            if rec is not None and rec.status == "cancelled":
                self.part_path(rid).unlink(missing_ok=True)
            if not closing:
                self._dispatch()

    def _requeue_if_closing(self, rid: str) -> None:
        with self._lock:
            current = self._records.get(rid)
            if self._closing and current is not None and current.status == "downloading":
                self._records[rid] = current.with_(status="queued", speed_bps=0.0)

    def _run_attempts(self, rid: str, stop: threading.Event) -> None:
        part = self.part_path(rid)
        attempt = 0
        speed = _Speedometer()
        while True:
            if stop.is_set():
                self._requeue_if_closing(rid)
                return
            rec = self._update(rid, status="downloading", attempts=attempt + 1)
            if rec is None:
                return
            self._publish(rec, save=True)
            spec = rec.spec
            start_bytes = part.stat().st_size if part.exists() else 0
            reached = [start_bytes]

            def progress(done: int, rid: str = rid, reached: list[int] = reached) -> None:
                reached[0] = done
                bps = speed.update(done)
                if speed.due():
                    updated = self._update(rid, bytes_done=done, speed_bps=bps)
                    if updated is not None:
                        self._publish(updated)

            try:
                check_disk_space(self.downloads_dir, max(0, spec.size - start_bytes), margin=0)
                result = transfer.fetch(
                    spec,
                    part,
                    headers=self._headers(),
                    stop=stop,
                    on_progress=progress,
                    on_open=functools.partial(self._track, rid),
                )
                rec = self._update(rid, status="verifying", bytes_done=result.size, speed_bps=0.0)
                if rec is None:
                    return
                self._publish(rec, save=True)
                installed = verify_and_install(
                    spec, part, result.sha256, self.models_folder, self.quarantine_dir, rid
                )
                rec = self._update(rid, status="completed", installed_path=str(installed.path))
                if rec:
                    self._publish(rec, save=True)
                    self._enqueue_companions(rec)
                return
            except Stopped:
                self._requeue_if_closing(rid)
                return
            except VerificationError as exc:
                rec = self._update(
                    rid, status="quarantined", error=str(exc.args[0]),
                    quarantine_path=str(exc.args[1]), speed_bps=0.0,
                )  # fmt: skip
                if rec:
                    self._publish(rec, save=True)
                return
            except TransientError as exc:
                attempt = 1 if reached[0] > start_bytes else attempt + 1
                if attempt >= self.max_attempts:
                    rec = self._update(
                        rid, status="failed", speed_bps=0.0,
                        error=f"Gave up after {attempt} tries: {exc} Press Resume to try again.",
                    )  # fmt: skip
                    if rec:
                        self._publish(rec, save=True)
                    return
                delay = min(self.backoff_s[1], self.backoff_s[0] * 2 ** (attempt - 1))
                rec = self._update(rid, speed_bps=0.0, error=f"{exc} Retrying in {delay:.0f} s…")
                if rec:
                    self._publish(rec)
                if stop.wait(delay):
                    continue  # the next _update sees paused/cancelled and returns
            except (DiskFullError, DownloadError) as exc:
                rec = self._update(rid, status="failed", error=str(exc), speed_bps=0.0)
                if rec:
                    self._publish(rec, save=True)
                return


class _Speedometer:
    """Bytes per second over the last few seconds, and a publish throttle."""

    def __init__(self, window_s: float = 3.0) -> None:
        self.window_s = window_s
        self.samples: list[tuple[float, int]] = []
        self._last_publish = 0.0

    def update(self, done: int) -> float:
        now = time.monotonic()
        self.samples.append((now, done))
        while len(self.samples) > 2 and now - self.samples[0][0] > self.window_s:
            self.samples.pop(0)
        t0, b0 = self.samples[0]
        return (done - b0) / (now - t0) if now > t0 and done >= b0 else 0.0

    def due(self) -> bool:
        now = time.monotonic()
        if now - self._last_publish >= PUBLISH_INTERVAL_S:
            self._last_publish = now
            return True
        return False
