"""The download list on disk, so a queue survives closing (or killing) the app.

One small JSON file, replaced atomically. Bytes already fetched are not trusted from it:
on resume the partial file's real length is used and its prefix is re-hashed.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from app.backend.downloads.types import DownloadRecord

log = logging.getLogger(__name__)
STATE_VERSION = 1


class StateFile:
    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> list[DownloadRecord]:
        try:
            doc = json.loads(self.path.read_text("utf-8"))
            if doc.get("version") != STATE_VERSION:
                return []
            return [DownloadRecord.from_dict(dict(r)) for r in doc["downloads"]]
        except FileNotFoundError:
            return []
        except (OSError, ValueError, TypeError, KeyError) as exc:
            log.warning("Ignoring unreadable download state %s: %s", self.path, exc)
            return []

    def save(self, records: list[DownloadRecord]) -> None:
        payload = json.dumps(
            {"version": STATE_VERSION, "downloads": [r.to_dict() for r in records]}, indent=1
        )
        tmp = self.path.with_name(self.path.name + ".tmp")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_text(payload, "utf-8")
            os.replace(tmp, self.path)
        except OSError as exc:  # a full disk must not crash the queue; progress is re-derived
            log.warning("Could not save download state: %s", exc)
            try:
                tmp.unlink()
            except OSError:
                pass
