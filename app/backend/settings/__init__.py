"""Typed, versioned application settings stored as JSON in the data root."""

from app.backend.settings.schema import (
    SETTINGS_VERSION,
    AppearanceSettings,
    ChatSettings,
    FieldInfo,
    ModelSettings,
    PerModelSettings,
    ServerSettings,
    Settings,
    WindowState,
    describe,
)
from app.backend.settings.store import SettingsError, SettingsStore

__all__ = [
    "SETTINGS_VERSION",
    "AppearanceSettings",
    "ChatSettings",
    "FieldInfo",
    "ModelSettings",
    "PerModelSettings",
    "ServerSettings",
    "Settings",
    "SettingsError",
    "SettingsStore",
    "WindowState",
    "describe",
]
