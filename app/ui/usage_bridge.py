"""The Usage page's and the remote-endpoint dialog's way into the backend, on its own thread.

Reports read SQLite and the price table; remote tests and listings touch the network; audit
checks hash the whole log. None of that may run on the UI thread, and none should wait
behind a chat, so this bridge has a thread of its own (as the models bridge does).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot

from app.backend.audit import Verification
from app.backend.core import HearthCore
from app.backend.costs import (
    CostReport,
    PriceTable,
    build_report,
    export_csv,
    load_prices,
    reset_prices,
    save_prices,
    usage_csv,
)
from app.backend.remote import Listing, RemoteError
from app.backend.secrets import SecretBackendUnavailable
from app.backend.settings import Settings
from app.backend.settings.schema import FallbackRule, RemoteEndpoint

log = logging.getLogger(__name__)


@dataclass
class UsageView:
    """Everything the dashboard shows, computed off the UI thread."""

    report: CostReport
    price_ids: list[str]
    prices_note: str
    prices_warning: str | None
    power_source: str
    audit: list[dict[str, Any]]
    audit_check: Verification


@dataclass
class RemotesView:
    endpoints: list[RemoteEndpoint]
    has_key: dict[str, bool]
    listing: Listing
    fallback: dict[str, FallbackRule]
    local_only: bool


class UsageBridge(QObject):
    usage_ready = Signal(object)  # UsageView
    usage_changed = Signal()  # a record was added (refresh if visible)
    exported = Signal(str)  # a sentence for the status line
    failed = Signal(str)
    prices_loaded = Signal(object, object)  # PriceTable, a warning or None
    prices_saved = Signal(str)  # a sentence for the status line
    prices_failed = Signal(str)
    remotes_ready = Signal(object)  # RemotesView
    remote_tested = Signal(str, object)  # endpoint name, list[str] or an error sentence
    remote_saved = Signal(str)
    remote_needs_consent = Signal(str, str)  # endpoint name, why no keyring

    def __init__(self, core: HearthCore) -> None:
        super().__init__()
        self.core = core
        self._listening = False

    def _settings(self) -> Settings:
        return self.core.settings

    # ------------------------------------------------------------------ usage
    @Slot(str)
    def refresh(self, compare_id: str) -> None:
        try:
            self.usage_ready.emit(self._view(compare_id or None))
        except Exception as exc:
            log.exception("Usage report failed")
            self.failed.emit(f"Could not build the usage report: {exc}")

    def _view(self, compare_id: str | None) -> UsageView:
        usage = self.core.usage
        if not self._listening:
            usage.add_listener(lambda _record: self.usage_changed.emit())
            self._listening = True
        prices, warning = load_prices(self.core.paths.root)
        report = build_report(usage.store.daily(), self._settings().costs, prices, compare_id)
        meter = usage.meter
        return UsageView(
            report,
            prices.ids(),
            prices.note + (" (your edited copy)" if prices.user_edited else ""),
            warning,
            meter.source.describe() if meter is not None else "not measured",
            self.core.audit.entries(limit=200),
            self.core.audit.verify(),
        )

    @Slot(str, str)
    def export_usage(self, path: str, compare_id: str) -> None:
        try:
            prices, _ = load_prices(self.core.paths.root)
            rows = self.core.usage.store.daily()
            text = usage_csv(rows, self._settings().costs, prices, compare_id or None)
            export_csv(Path(path), text)
        except Exception as exc:
            self.failed.emit(f"Could not export usage: {exc}")
            return
        self.exported.emit(f"Usage exported to {path} ({len(rows)} rows).")

    @Slot(str)
    def export_audit(self, path: str) -> None:
        try:
            target = Path(path)
            if target.suffix.lower() == ".jsonl":
                count = self.core.audit.export_jsonl(target)
            else:
                count = self.core.audit.export_csv(target)
        except Exception as exc:
            self.failed.emit(f"Could not export the audit log: {exc}")
            return
        self.exported.emit(f"Audit log exported to {path} ({count} entries).")

    # ----------------------------------------------------------------- prices
    @Slot()
    def load_price_table(self) -> None:
        table, warning = load_prices(self.core.paths.root)
        self.prices_loaded.emit(table, warning)

    @Slot(object)
    def save_price_table(self, table: object) -> None:
        """Write the user's copy (``prices.json`` in the data root); it wins over defaults."""
        if not isinstance(table, PriceTable):
            self.prices_failed.emit("Nothing to save: not a price table.")
            return
        try:
            path = save_prices(self.core.paths.root, table)
        except OSError as exc:
            self.prices_failed.emit(f"Could not save the prices: {exc.strerror or exc}.")
            return
        self.prices_saved.emit(f"Cloud prices saved ({len(table.prices)} models) to {path}.")

    @Slot()
    def reset_price_table(self) -> None:
        try:
            reset_prices(self.core.paths.root)
        except OSError as exc:
            self.prices_failed.emit(f"Could not reset the prices: {exc.strerror or exc}.")
            return
        self.prices_saved.emit("Cloud prices reset to the shipped defaults.")

    # ---------------------------------------------------------------- remotes
    @Slot(bool)
    def list_remotes(self, ask_endpoints: bool) -> None:
        remotes = self.core.remotes
        listing = remotes.cached()
        local_only = self.core.privacy.local_only
        if ask_endpoints and not local_only:
            try:
                listing = remotes.list_all()
            except Exception as exc:
                listing = Listing(errors={"*": str(exc)})
        endpoints = remotes.endpoints()
        has_key = {e.name: remotes.has_key(e.name) for e in endpoints}
        fallback = self.core.settings_store.load().fallback
        self.remotes_ready.emit(RemotesView(endpoints, has_key, listing, fallback, local_only))

    @Slot(str, str, object, bool, bool, object)
    def save_remote(
        self,
        name: str,
        base_url: str,
        api_key: object,
        enabled: bool,
        allow_file: bool,
        replace: object,
    ) -> None:
        try:
            self.core.remotes.save(
                name,
                base_url,
                api_key=api_key if isinstance(api_key, str) else None,
                enabled=enabled,
                allow_file=allow_file,
                replace=replace if isinstance(replace, str) else None,
            )
        except SecretBackendUnavailable as exc:
            self.remote_needs_consent.emit(name, str(exc))
            return
        except (ValueError, OSError) as exc:
            self.failed.emit(str(exc))
            return
        self._sync_settings()
        self.remote_saved.emit(name)
        self.list_remotes(True)

    @Slot(str)
    def remove_remote(self, name: str) -> None:
        try:
            self.core.remotes.remove(name)
        except Exception as exc:
            self.failed.emit(f"Could not remove '{name}': {exc}")
            return
        self._sync_settings()
        self.list_remotes(False)

    @Slot(str, str, object)
    def test_remote(self, name: str, base_url: str, api_key: object) -> None:
        try:
            models = self.core.remotes.test(
                name, base_url, api_key if isinstance(api_key, str) and api_key else None
            )
        except (RemoteError, ValueError) as exc:
            self.remote_tested.emit(name, str(exc))
            return
        except Exception as exc:  # LocalOnlyError and keyring trouble read well as they are
            self.remote_tested.emit(name, str(exc))
            return
        self.remote_tested.emit(name, models)

    @Slot(str, object)
    def set_fallback(self, model_id: str, rule: object) -> None:
        """Store (a ``FallbackRule``) or clear (None) the fallback of a local model."""

        def apply(settings: Settings) -> None:
            if isinstance(rule, FallbackRule) and rule.remote_model:
                settings.fallback[model_id] = rule
            else:
                settings.fallback.pop(model_id, None)

        try:
            self.core.settings_store.update(apply)
        except Exception as exc:
            self.failed.emit(f"Could not save the fallback: {exc}")
            return
        self._sync_settings()
        self.list_remotes(False)

    def _sync_settings(self) -> None:
        """Keep the core's settings object current for readers that use it (privacy, costs)."""
        fresh = self.core.settings_store.load()
        self.core.settings.remotes = fresh.remotes
        self.core.settings.fallback = fresh.fallback
