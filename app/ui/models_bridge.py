"""The door between the Discover / My Models pages and the backend (hub, downloads, library).

Lives in its own QThread like ``app/ui/bridge.py``; network work (search, repo details,
remote headers, model cards) goes to a small pool so a slow Hub never delays a click on
Pause, and keyring calls never touch the UI thread. Download progress arrives on the
download threads and is re-emitted as signals (queued to the UI).
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot

from app.backend.core import HearthCore
from app.backend.downloads import (
    DiskFullError,
    DownloadRecord,
    plan_entry_downloads,
    plan_projector_downloads,
)
from app.backend.gguf import GGUFError, SkippedArray, read_header
from app.backend.hub import (
    BadRepoReference,
    ConsentNeeded,
    FitEstimate,
    GGUFEntry,
    HubError,
    RepoDetails,
    SearchCursor,
    best_fit_by_size,
    fetch_remote_header,
    fit_from_header,
    fit_from_size,
    merge_split_headers,
    parse_repo_reference,
)
from app.backend.hub.http import HttpError, NetworkError
from app.backend.library.catalog import LocalModel
from app.backend.library.discovery import FoundSource, find_other_tools, link_in_place
from app.backend.library.ids import SPLIT_PATTERN
from app.backend.library.importer import ImportError_, delete_model, import_model
from app.backend.planner import Resources, resources_from_hardware
from app.backend.secrets import SecretBackendUnavailable
from app.backend.settings.schema import SecretsFileFallback

log = logging.getLogger(__name__)


class ModelsBridge(QObject):
    # --- answers (queued to the UI thread)
    search_results = Signal(int, list, bool)  # serial, list[ModelSummary], more available
    repo_opened = Signal(object)  # RepoDetails
    readme_ready = Signal(str, str)  # repo id, Markdown
    fit_ready = Signal(str, str, object)  # repo id, entry label, FitEstimate
    result_fit = Signal(str, object)  # repo id, FitEstimate | None (by size, for the filter)
    download_changed = Signal(object)  # DownloadRecord
    downloads_listed = Signal(list)  # list[DownloadRecord]
    models_listed = Signal(list)  # list[LocalModel]
    metadata_ready = Signal(str, dict)  # model id, metadata
    other_tools_found = Signal(list)  # list[FoundSource]
    token_status = Signal(object)  # TokenStatus
    token_needs_consent = Signal(str)  # why no keyring; ask, then answer_consent(token, yes)
    settings_changed = Signal(object)  # Settings, after the bridge saved a choice (consent)
    open_in_chat = Signal(str)  # model id of a finished download: show the Chat, load it
    error = Signal(str)
    notice = Signal(str)

    def __init__(self, core: HearthCore, *, start_downloads: bool = True) -> None:
        super().__init__()
        self.core = core
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="hearth-hub")
        self._cursor: SearchCursor | None = None
        self._serial = 0
        self._details: dict[str, RepoDetails] = {}
        self._result_fits: dict[str, FitEstimate | None] = {}
        self._resources: Resources | None = None
        self._found: list[FoundSource] = []
        self._manager = core.downloads
        self._manager.add_listener(self._on_download)
        if start_downloads and core.settings.downloads.resume_on_start:
            self._manager.start()
        self._started = start_downloads and core.settings.downloads.resume_on_start

    # ------------------------------------------------------------------ Discover
    @Slot(str, str)
    def search(self, query: str, sort: str) -> None:
        """A search, or a pasted ``user/repo`` / Hub link (which opens the model page)."""
        self._serial += 1
        serial = self._serial
        text = query.strip()
        if "/" in text and " " not in text:
            try:
                ref = parse_repo_reference(text, self._client_endpoint())
            except BadRepoReference:
                ref = None
            if ref is not None:
                self.open_repo(ref.repo_id)
                return
        self._pool.submit(self._search, serial, text, sort)

    def _client_endpoint(self) -> str:
        from app.backend.hub import hub_endpoint

        return hub_endpoint()

    def _search(self, serial: int, query: str, sort: str) -> None:
        try:
            cursor = self.core.hub().search(query, sort=sort)  # type: ignore[arg-type]
            page = cursor.next_page()
        except HubError as exc:
            self.error.emit(str(exc))
            self.search_results.emit(serial, [], False)
            return
        if serial == self._serial:
            self._cursor = cursor
        self.search_results.emit(serial, page, not cursor.exhausted)

    @Slot()
    def more_results(self) -> None:
        cursor, serial = self._cursor, self._serial
        if cursor is None or cursor.exhausted:
            return

        def run() -> None:
            try:
                page = cursor.next_page()
            except HubError as exc:
                self.error.emit(str(exc))
                return
            self.search_results.emit(-serial, page, not cursor.exhausted)  # negative: append

        self._pool.submit(run)

    @Slot(list)
    def check_result_fits(self, repo_ids: list[str]) -> None:
        """Whether each search result has a file that fits here (by size; one call each)."""
        for repo_id in repo_ids:
            if repo_id in self._result_fits:
                self.result_fit.emit(repo_id, self._result_fits[repo_id])
            else:
                self._pool.submit(self._result_fit, repo_id)

    def _result_fit(self, repo_id: str) -> None:
        try:
            details = self.core.hub().repo_details(repo_id)
        except (HubError, BadRepoReference) as exc:
            log.info("no fit for %s: %s", repo_id, exc)
            return  # unknown: the result stays listed
        fit = best_fit_by_size(details.entries, self._resources_now())
        self._result_fits[repo_id] = fit
        self.result_fit.emit(repo_id, fit)

    @Slot(str)
    def open_repo(self, repo_id: str) -> None:
        self._pool.submit(self._open_repo, repo_id)

    def _open_repo(self, repo_id: str) -> None:
        try:
            client = self.core.hub()
            details = client.repo_details(repo_id)
        except (HubError, BadRepoReference) as exc:
            self.error.emit(str(exc))
            return
        self._details[details.repo_id] = details
        self.repo_opened.emit(details)
        if details.refused_files:
            self.notice.emit(
                f"Ignored {len(details.refused_files)} file(s) with unsafe names in this repo."
            )
        self._pool.submit(self._readme, client, details.repo_id)
        for entry in details.entries:
            if not entry.is_mmproj:
                self._pool.submit(self._fit, client, details, entry)

    def _readme(self, client: Any, repo_id: str) -> None:
        try:
            self.readme_ready.emit(repo_id, client.readme(repo_id))
        except HubError as exc:
            self.readme_ready.emit(repo_id, f"*{exc}*")

    def _resources_now(self) -> Resources:
        if self._resources is None:
            from app.backend.hardware import detect_hardware

            self._resources = resources_from_hardware(detect_hardware())
        return self._resources

    def _fit(self, client: Any, details: RepoDetails, entry: GGUFEntry) -> None:
        resources = self._resources_now()
        try:
            headers = [
                fetch_remote_header(
                    client.resolve_url(details.repo_id, p.path, details.commit),
                    p.size,
                    headers=client.auth_headers(),
                )
                for p in entry.parts
            ]
            fit: FitEstimate = fit_from_header(merge_split_headers(headers), resources)
        except (GGUFError, NetworkError, HttpError, ValueError) as exc:
            log.info("header of %s unavailable (%s); fit from size", entry.label, exc)
            fit = fit_from_size(entry.size, resources)
        self.fit_ready.emit(details.repo_id, entry.label, fit)

    @Slot(str, str)
    def download(self, repo_id: str, label: str) -> None:
        details = self._details.get(repo_id)
        entry = next((e for e in details.entries if e.label == label), None) if details else None
        if details is None or entry is None:
            self.error.emit(f"Open {repo_id} again: its file list is not loaded.")
            return
        if not entry.complete:
            self.error.emit(f"{label} is missing some of its split parts on Hugging Face.")
            return
        try:
            client = self.core.hub()
            specs = plan_entry_downloads(client, details, entry)
            # A vision model's projector follows once the model is in (same folder).
            companions = plan_projector_downloads(client, details, entry)
            for index, spec in enumerate(specs):
                self._manager.enqueue(spec, then=companions if index == 0 else ())
        except (DiskFullError, HubError) as exc:
            self.error.emit(str(exc))
            return
        if not self._started:
            self._manager.start()
            self._started = True

    @Slot(str)
    def pause_download(self, rid: str) -> None:
        self._manager.pause(rid)

    @Slot(str)
    def resume_download(self, rid: str) -> None:
        self._manager.resume(rid)
        if not self._started:
            self._manager.start()
            self._started = True

    @Slot(str)
    def cancel_download(self, rid: str) -> None:
        self._manager.cancel(rid)

    @Slot(str)
    def remove_download(self, rid: str) -> None:
        self._manager.remove(rid)
        self.downloads_listed.emit(self._manager.records())

    @Slot()
    def list_downloads(self) -> None:
        self.downloads_listed.emit(self._manager.records())

    @Slot(str)
    def load_downloaded(self, rid: str) -> None:
        """Find the library model a finished download became, then ask for it in the Chat."""
        self._pool.submit(self._load_downloaded, rid)

    def _load_downloaded(self, rid: str) -> None:
        try:
            record = self._manager.get(rid)
        except KeyError:
            self.error.emit("That download is no longer in the list.")
            return
        siblings = [
            r
            for r in self._manager.records()
            if record.spec.group
            and r.spec.repo_id == record.spec.repo_id
            and r.spec.group == record.spec.group
        ] or [record]
        waiting = [r for r in siblings if r.status != "completed"]
        if waiting:
            self.error.emit(
                f"{record.spec.group or record.spec.filename} is not fully downloaded yet "
                f"({len(waiting)} part(s) left)."
            )
            return
        models = self.core.library.scan()
        self.models_listed.emit(models)
        model = model_for_file(models, Path(record.installed_path))
        if model is None:
            self.error.emit(
                f"{Path(record.installed_path).name} is no longer in your models folder "
                "(moved or deleted?). Download it again, or import it in My Models."
            )
            return
        self.open_in_chat.emit(model.id)

    def _on_download(self, record: DownloadRecord) -> None:
        self.download_changed.emit(record)
        if record.status == "completed":
            self._pool.submit(self.list_models)

    # ------------------------------------------------------------------ token
    @Slot()
    def request_token_status(self) -> None:
        self._pool.submit(lambda: self.token_status.emit(self.core.hub_token.status()))

    @Slot(str, bool)
    def set_token(self, token: str, allow_file: bool) -> None:
        """Store the token; without a keyring the remembered answer decides (or we ask)."""
        policy: SecretsFileFallback = (
            "allow" if allow_file else self.core.settings.privacy.secrets_file_fallback
        )
        self._pool.submit(self._store_token, token, policy)

    def _store_token(self, token: str, policy: SecretsFileFallback) -> None:
        try:
            self.core.hub_token.set_with_policy(token, policy)
        except ConsentNeeded as exc:
            self.token_needs_consent.emit(str(exc))
            return
        except (SecretBackendUnavailable, ValueError) as exc:
            self.error.emit(str(exc))
            return
        self.token_status.emit(self.core.hub_token.status())
        self.notice.emit("Hugging Face token saved.")

    @Slot(str, bool)
    def answer_consent(self, token: str, allowed: bool) -> None:
        """Remember the user's answer about the private file (settings, never the token),
        then store the token if they agreed."""

        def run() -> None:
            answer = "allow" if allowed else "deny"

            def remember(settings: Any) -> None:
                settings.privacy.secrets_file_fallback = answer

            try:
                self.core.settings = self.core.settings_store.update(remember)
            except Exception as exc:  # the answer still counts for this time
                self.error.emit(f"Could not save the settings: {exc}")
            else:
                self.settings_changed.emit(self.core.settings)
            if allowed:
                self._store_token(token, "allow")
            else:
                self.notice.emit(
                    "The token was not saved. Hearth will not ask again; change this in "
                    "Settings → Privacy."
                )

        self._pool.submit(run)

    @Slot()
    def clear_token(self) -> None:
        def run() -> None:
            try:
                self.core.hub_token.clear()
            except SecretBackendUnavailable as exc:
                self.error.emit(str(exc))
            self.token_status.emit(self.core.hub_token.status())

        self._pool.submit(run)

    # ------------------------------------------------------------------ My Models
    @Slot()
    def list_models(self) -> None:
        self.models_listed.emit(self.core.library.scan())

    @Slot(str)
    def show_metadata(self, model_id: str) -> None:
        try:
            model = self.core.library.resolve(model_id)
            header = read_header(model.path)
        except Exception as exc:
            self.error.emit(str(exc))
            return
        meta: dict[str, Any] = {}
        for key, value in header.metadata.items():
            if isinstance(value, SkippedArray):
                meta[key] = f"[{value.length} items]"
            elif isinstance(value, list) and len(value) > 16:
                meta[key] = f"[{len(value)} items]"
            else:
                meta[key] = value
        meta["(file)"] = str(model.path)
        meta["(tensors)"] = len(header.tensors)
        meta["(size)"] = model.size_bytes
        self.metadata_ready.emit(model_id, meta)

    @Slot(str, str)
    def import_file(self, path: str, mode: str) -> None:
        try:
            placed = import_model(Path(path), self.core.paths.models, mode)  # type: ignore[arg-type]
        except ImportError_ as exc:
            self.error.emit(str(exc))
            return
        self.notice.emit(f"Imported {placed.name}.")
        self.list_models()

    @Slot(str)
    def delete(self, model_id: str) -> None:
        try:
            model = self.core.library.resolve(model_id)
            delete_model(model.path, self.core.model_folders())
        except Exception as exc:
            self.error.emit(str(exc))
            return
        self.notice.emit(f"Deleted {model_id}.")
        self.list_models()

    @Slot(str)
    def open_folder(self, model_id: str) -> None:
        try:
            folder = self.core.library.resolve(model_id).path.parent
        except Exception as exc:
            self.error.emit(str(exc))
            return
        opener = {"darwin": "open", "win32": "explorer"}.get(sys.platform, "xdg-open")
        try:
            subprocess.Popen([opener, os.fspath(folder)], start_new_session=True)
        except OSError:
            self.notice.emit(f"The model is in {folder}")

    @Slot()
    def find_other_tools(self) -> None:
        def run() -> None:
            found = find_other_tools()
            mine = {p.resolve() for p in self.core.model_folders() if p.exists()}
            self._found = [s for s in found if s.folder.resolve() not in mine]
            self.other_tools_found.emit(self._found)

        self._pool.submit(run)

    @Slot(str)
    def use_in_place(self, folder: str) -> None:
        source = next((s for s in self._found if str(s.folder) == folder), None)
        if source is None:
            return
        if source.kind == "folder":

            def add(settings: Any) -> None:
                if folder not in settings.models.extra_folders:
                    settings.models.extra_folders.append(folder)

            try:
                self.core.settings = self.core.settings_store.update(add)
            except Exception as exc:
                self.error.emit(f"Could not save the settings: {exc}")
                return
            self.core.library.folders.append(Path(folder))
        else:
            link_in_place(source, self.core.paths.models)
        self._found = [s for s in self._found if s is not source]
        self.other_tools_found.emit(self._found)
        self.notice.emit(f"Using {len(source.models)} model(s) from {source.tool} in place.")
        self.list_models()

    # ------------------------------------------------------------------ teardown
    def shutdown(self) -> None:
        self._manager.remove_listener(self._on_download)
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._manager.shutdown()


def model_for_file(models: list[LocalModel], path: Path) -> LocalModel | None:
    """The library model a downloaded file belongs to (any part of a split model)."""
    target = path.resolve()
    stem = SPLIT_PATTERN.sub("", target.stem)
    for model in models:
        where = model.path.resolve()
        if where == target:
            return model
        if where.parent == target.parent and SPLIT_PATTERN.sub("", where.stem) == stem:
            return model
    return None


def record_dict(record: DownloadRecord) -> dict[str, Any]:
    return asdict(record)
