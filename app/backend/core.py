"""The backend's composition root: one object that owns settings, library, chats and engine.

The UI bridge, the CLI and (later) the API server each create one; nothing reaches for
module globals.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

from app.backend.chats import ChatStore
from app.backend.engine.client import EngineClient
from app.backend.library import ModelLibrary
from app.backend.paths import DataPaths
from app.backend.settings import Settings, SettingsStore


class HearthCore:
    """Lazily built services over one data root; cheap to construct."""

    def __init__(self, paths: DataPaths | None = None) -> None:
        self.paths = (paths or DataPaths.default()).ensure()
        self.settings_store = SettingsStore(self.paths.settings_file)
        self.settings: Settings = self.settings_store.load()

    def model_folders(self) -> list[Path]:
        extra = [Path(folder).expanduser() for folder in self.settings.models.extra_folders]
        return [self.paths.models, *extra]

    @cached_property
    def library(self) -> ModelLibrary:
        return ModelLibrary(self.model_folders(), cache_file=self.paths.cache / "models.json")

    @cached_property
    def chats(self) -> ChatStore:
        return ChatStore(self.paths.chats_db)

    @cached_property
    def engine(self) -> EngineClient:
        return EngineClient(self.paths.logs)

    def close(self) -> None:
        if "engine" in self.__dict__:
            self.engine.close()
        if "chats" in self.__dict__:
            self.chats.close()
