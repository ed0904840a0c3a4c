"""After the last byte: verify against the Hub's sha256, then install or quarantine.

``huggingface_hub`` only checks the size (a flipped byte passes), so every file is checked
against its LFS oid. A mismatch goes to ``downloads/quarantine/`` with a ``.bad`` name:
outside every models folder and without a ``.gguf`` suffix, so nothing lists or loads it.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from app.backend.downloads.types import DiskFullError, DownloadError, DownloadSpec

SPACE_MARGIN = 32 * 1024 * 1024


@dataclass(frozen=True)
class Installed:
    path: Path


def check_disk_space(folder: Path, needed: int, margin: int = SPACE_MARGIN) -> None:
    """Refuse to start a download that can't fit (plus a margin for everything else)."""
    probe = folder
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    free = shutil.disk_usage(probe).free
    if needed + margin > free:
        raise DiskFullError(
            f"Not enough disk space: this download needs {_size(needed)} and "
            f"{_size(free)} is free on the disk holding {folder}. Free some space and try again."
        )


def safe_destination(models_folder: Path, dest: str) -> Path:
    """``models_folder / dest``, refusing anything that resolves outside the folder."""
    root = models_folder.resolve()
    target = (models_folder / dest).resolve()
    if root not in target.parents:
        raise DownloadError(f"Refusing to write outside the models folder: {dest!r}.")
    return models_folder / dest


def quarantine(part: Path, quarantine_dir: Path, record_id: str) -> Path:
    quarantine_dir.mkdir(parents=True, exist_ok=True)
    target = quarantine_dir / f"{record_id}.bad"
    os.replace(part, target)
    return target


def verify_and_install(
    spec: DownloadSpec,
    part: Path,
    actual_sha256: str,
    models_folder: Path,
    quarantine_dir: Path,
    record_id: str,
) -> Installed:
    """Install ``part`` at its library place if its hash is right; else quarantine it.

    Raises ``VerificationError`` (with the quarantine path in ``args[1]``) on a mismatch.
    """
    from app.backend.downloads.types import VerificationError

    if spec.sha256 and actual_sha256.lower() != spec.sha256.lower():
        bad = quarantine(part, quarantine_dir, record_id)
        raise VerificationError(
            f"{spec.filename} failed verification: its sha256 is {actual_sha256[:12]}… but "
            f"Hugging Face lists {spec.sha256[:12]}…. The file was damaged in transit and "
            f"was not installed (kept aside in {bad.parent}). Download it again.",
            str(bad),
        )
    target = safe_destination(models_folder, spec.dest)
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.replace(part, target)
    except OSError as exc:
        if exc.errno != 18:  # EXDEV: the models folder is on another disk
            raise DownloadError(f"Could not install {target}: {exc.strerror}.") from None
        tmp = target.with_name(f".{target.name}.installing")
        try:
            shutil.copyfile(part, tmp)
            os.replace(tmp, target)
        except OSError as copy_exc:
            tmp.unlink(missing_ok=True)
            raise DownloadError(f"Could not install {target}: {copy_exc.strerror}.") from None
        part.unlink(missing_ok=True)
    return Installed(target)


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n = n / 1000  # type: ignore[assignment]
    return f"{n} B"
