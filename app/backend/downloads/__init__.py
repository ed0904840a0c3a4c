"""Verified, resumable downloads from the Hub into the model library."""

from app.backend.downloads.manager import DownloadManager, record_id
from app.backend.downloads.plan import (
    choose_projector,
    plan_entry_downloads,
    plan_model_downloads,
    plan_projector_downloads,
)
from app.backend.downloads.types import (
    ACTIVE,
    FINISHED,
    DiskFullError,
    DownloadError,
    DownloadRecord,
    DownloadSpec,
    Status,
    TransientError,
    VerificationError,
)

__all__ = [
    "ACTIVE",
    "FINISHED",
    "DiskFullError",
    "DownloadError",
    "DownloadManager",
    "DownloadRecord",
    "DownloadSpec",
    "Status",
    "TransientError",
    "VerificationError",
    "choose_projector",
    "plan_entry_downloads",
    "plan_model_downloads",
    "plan_projector_downloads",
    "record_id",
]
