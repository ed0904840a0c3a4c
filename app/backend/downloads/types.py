"""What a download is (``DownloadSpec``), where it stands (``DownloadRecord``), and errors."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

Status = Literal[
    "queued", "downloading", "paused", "verifying", "completed", "failed", "cancelled",
    "quarantined",
]  # fmt: skip
ACTIVE: tuple[Status, ...] = ("queued", "downloading", "verifying")
FINISHED: tuple[Status, ...] = ("completed", "failed", "cancelled", "quarantined")


@dataclass(frozen=True)
class DownloadSpec:
    """One file to fetch: where from, what it must hash to, where it goes in the library.

    ``dest`` is relative to the models folder (``publisher/repo/file.gguf``); it is built
    only from validated names.
    """

    repo_id: str
    filename: str
    url: str
    size: int
    sha256: str | None
    dest: str
    revision: str = "main"
    group: str = ""  # parts of one split model share a group label

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class DownloadRecord:
    """A snapshot of one download (immutable; the manager publishes new ones)."""

    id: str
    spec: DownloadSpec
    status: Status = "queued"
    bytes_done: int = 0
    speed_bps: float = 0.0
    error: str = ""
    attempts: int = 0
    installed_path: str = ""
    quarantine_path: str = ""
    created_at: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def eta_s(self) -> float | None:
        if self.status != "downloading" or self.speed_bps <= 0:
            return None
        return max(0.0, (self.spec.size - self.bytes_done) / self.speed_bps)

    @property
    def fraction(self) -> float:
        return self.bytes_done / self.spec.size if self.spec.size else 0.0

    def with_(self, **changes: Any) -> DownloadRecord:
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("speed_bps")
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DownloadRecord:
        spec = DownloadSpec(**data.pop("spec"))
        return cls(spec=spec, **data)


class DownloadError(Exception):
    """A download failed for good; ``str()`` is for the user."""


class TransientError(DownloadError):
    """Worth retrying: the connection dropped, the server hiccuped."""


class VerificationError(DownloadError):
    """The bytes are not the file the Hub lists (sha256 mismatch)."""


class DiskFullError(DownloadError):
    """Not enough free space, before starting or while writing."""


class Stopped(Exception):
    """Paused or cancelled by the user: not an error."""
