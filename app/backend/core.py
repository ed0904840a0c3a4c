"""The backend's composition root: one object that owns settings, library, chats and engine.

The UI bridge, the CLI and (later) the API server each create one; nothing reaches for
module globals.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

from app.backend.audit import AuditLog
from app.backend.chats import ChatStore
from app.backend.downloads import DownloadManager
from app.backend.engine.manager import EngineManager
from app.backend.engine.types import LoadParams
from app.backend.hub import HubClient, HubToken
from app.backend.library import LocalModel, ModelLibrary
from app.backend.paths import DataPaths
from app.backend.privacy import PrivacyGuard
from app.backend.remote import FallbackRouter, RemoteRegistry
from app.backend.settings import Settings, SettingsStore
from app.backend.settings.schema import FallbackRule
from app.backend.templates import TemplateOverride
from app.backend.usage import UsageRecorder


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
    def engines(self) -> EngineManager:
        return EngineManager(self.paths.logs, self._load_defaults)

    def _load_defaults(self, model: LocalModel) -> tuple[LoadParams, dict | None]:
        """The app's default load settings and this model's remembered choices (read fresh)."""
        settings = self.settings_store.load()
        per_model = settings.per_model.get(model.id)
        return settings.load_defaults, per_model.load if per_model else None

    @cached_property
    def hub_token(self) -> HubToken:
        """The Hugging Face token (keyring); calls may wait on the keyring: not on a UI thread."""
        return HubToken(self.paths.root / "secrets.json")

    def hub(self) -> HubClient:
        """A Hub client with the current token (``HF_ENDPOINT`` is honoured).

        Raises ``HubError`` with the reason while "Local only" is on.
        """
        from app.backend.hub import HubError
        from app.backend.privacy import LocalOnlyError

        try:
            self.privacy.check("Hugging Face search and model pages")
        except LocalOnlyError as exc:
            raise HubError(str(exc)) from exc
        return HubClient(token=self.hub_token.get())

    @cached_property
    def downloads(self) -> DownloadManager:
        """The download queue into the main models folder (not started: call ``start``)."""
        return DownloadManager(
            self.paths.downloads,
            self.paths.models,
            max_concurrent=self.settings.downloads.max_concurrent,
            headers=self._hub_headers,
        )

    def _hub_headers(self) -> dict[str, str]:
        """Called before every transfer: also where "Local only" stops downloads."""
        from app.backend.downloads import DownloadError
        from app.backend.privacy import LocalOnlyError

        try:
            self.privacy.check("Downloads")
        except LocalOnlyError as exc:
            raise DownloadError(str(exc)) from exc
        token = self.hub_token.get()
        return {"Authorization": f"Bearer {token}"} if token else {}

    # ------------------------------------------------ usage, costs, remotes, privacy, audit
    @cached_property
    def privacy(self) -> PrivacyGuard:
        """The "local only" switch, read from the current settings on every check."""
        return PrivacyGuard(lambda: self.settings)

    @cached_property
    def usage(self) -> UsageRecorder:
        """Token and energy accounting (``usage.db``; see ``app.backend.usage``)."""
        from app.backend.usage import EnergyMeter, PowerModel, SystemPowerSource

        def power_model() -> PowerModel:
            costs = self.settings.costs
            return PowerModel(costs.cpu_package_power_w, costs.gpu_idle_baseline_w)

        meter = EnergyMeter(SystemPowerSource(), power_model)
        return UsageRecorder.open(self.paths.root / "usage.db", meter)

    @cached_property
    def remotes(self) -> RemoteRegistry:
        """Remote OpenAI-compatible endpoints (keys in the keyring, like the Hub token)."""
        from app.backend.secrets import SecretStore

        secrets = SecretStore("hearth", fallback_path=self.paths.root / "secrets.json")
        return RemoteRegistry(self.settings_store, secrets, self.privacy.check)

    @cached_property
    def router(self) -> FallbackRouter:
        """Local engines with per-model remote fallback; accounts usage as it goes."""

        return FallbackRouter(self.engines.get, self.remotes.engine, self.fallback_rule, self.usage)

    def fallback_rule(self, model_id: str) -> FallbackRule | None:
        """``model_id``'s fallback rule, read fresh (the Usage page may have just changed it).

        None without a usable rule, and while Local only is on: nothing may leave the
        machine, so a request is answered as it would be without a rule (a busy or slow
        local model answers itself rather than failing on the forbidden remote). The chat
        and the API server both ask here, so they agree.
        """
        if self.privacy.local_only:
            return None
        rule = self.settings_store.load().fallback.get(model_id)
        return rule if rule is not None and rule.remote_model else None

    @cached_property
    def audit(self) -> AuditLog:
        """Append-only, hash-chained log of API use (no content)."""
        return AuditLog(self.paths.root / "audit" / "api-audit.jsonl")

    def template_override(self, model_id: str) -> TemplateOverride | None:
        """The user's per-model prompt choice (mode, edited template), read fresh from the
        settings; the chat and the API server both prompt a model this way."""
        per_model = self.settings_store.load().per_model.get(model_id)
        if per_model is None or not (per_model.template_mode or per_model.template_override):
            return None
        mode = per_model.template_mode
        return TemplateOverride(
            mode=mode if mode in ("chat", "completion") else None,  # type: ignore[arg-type]
            template=per_model.template_override,
        )

    def close(self) -> None:
        if "downloads" in self.__dict__:
            self.downloads.shutdown()
        if "engines" in self.__dict__:
            self.engines.close()
        if "chats" in self.__dict__:
            self.chats.close()
        if "remotes" in self.__dict__:
            self.remotes.close()
        if "usage" in self.__dict__:
            self.usage.close()
