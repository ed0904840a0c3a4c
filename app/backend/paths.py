"""Where Hearth keeps its data.

One data root: the platform's user data directory, or ``HEARTH_HOME`` when set (tests and portable
installs). The root is deliberately not a setting stored inside itself.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

APP_NAME = "Hearth"


def data_root() -> Path:
    """The data root, created on first use."""
    override = os.environ.get("HEARTH_HOME")
    root = Path(override).expanduser() if override else Path(platformdirs.user_data_dir(APP_NAME))
    root.mkdir(parents=True, exist_ok=True)
    return root


@dataclass(frozen=True)
class DataPaths:
    """The well-known files and folders under one data root."""

    root: Path

    @classmethod
    def default(cls) -> DataPaths:
        return cls(data_root())

    @property
    def models(self) -> Path:
        return self.root / "models"

    @property
    def chats_db(self) -> Path:
        return self.root / "chats.db"

    @property
    def settings_file(self) -> Path:
        return self.root / "settings.json"

    @property
    def downloads(self) -> Path:
        return self.root / "downloads"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def cache(self) -> Path:
        return self.root / "cache"

    def ensure(self) -> DataPaths:
        for folder in (self.models, self.downloads, self.logs, self.cache):
            folder.mkdir(parents=True, exist_ok=True)
        return self
