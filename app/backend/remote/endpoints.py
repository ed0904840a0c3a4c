"""The registry of remote endpoints: names and URLs in settings, keys in the keyring.

Remote models get ids ``remote:<endpoint>/<model>`` so they sit beside local ids
(``publisher/repo/QUANT``) in the chat picker and the API's model list without clashing.
Listing them asks each enabled endpoint's ``/models`` (in parallel, with a short timeout);
the last answer is kept so a picker can show the list at once.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx

from app.backend.remote.client import RemoteEngine, RemoteError, list_models, make_client
from app.backend.secrets import SecretStore
from app.backend.settings import Settings, SettingsStore
from app.backend.settings.schema import RemoteEndpoint

log = logging.getLogger(__name__)

PREFIX = "remote:"
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")
LOOPBACK = ("localhost", "127.0.0.1", "::1")


def remote_model_id(endpoint: str, model: str) -> str:
    return f"{PREFIX}{endpoint}/{model}"


def parse_remote_id(model_id: str) -> tuple[str, str] | None:
    """(endpoint, model) of a remote id, else None (a local id)."""
    if not model_id.startswith(PREFIX):
        return None
    endpoint, sep, model = model_id[len(PREFIX) :].partition("/")
    return (endpoint, model) if sep and endpoint and model else None


def is_remote_id(model_id: str) -> bool:
    return parse_remote_id(model_id) is not None


def engine_name(model_id: str) -> str:
    """Which engine answers ``model_id``: "local", or "remote:<endpoint>" (logs, usage)."""
    parsed = parse_remote_id(model_id)
    return f"remote:{parsed[0]}" if parsed else "local"


def key_name(endpoint: str) -> str:
    return f"remote-endpoint:{endpoint}"


def check_endpoint(name: str, base_url: str) -> str:
    """The normalised base URL; raises ``ValueError`` with a sentence for the user."""
    if not NAME_RE.match(name):
        raise ValueError(
            "Name the endpoint with letters, digits, '-', '_' or '.' (up to 40 characters)."
        )
    url = base_url.strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("The base URL must start with http:// or https:// and name a host.")
    if parts.username or parts.password:
        raise ValueError("Put the key in the key field, not in the URL.")
    if parts.query or parts.fragment:
        raise ValueError("The base URL takes no query string.")
    return url


def sends_key_in_clear(base_url: str) -> bool:
    """http:// to another machine: a key would cross the network unencrypted."""
    parts = urlsplit(base_url)
    return parts.scheme == "http" and (parts.hostname or "") not in LOOPBACK


@dataclass(frozen=True)
class RemoteModel:
    endpoint: str
    model: str

    @property
    def id(self) -> str:
        return remote_model_id(self.endpoint, self.model)

    @property
    def label(self) -> str:
        return f"{self.model} · {self.endpoint}"


@dataclass
class Listing:
    models: list[RemoteModel] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)  # endpoint -> why it gave no list


class RemoteRegistry:
    """Thread-safe; every network call checks the privacy guard first."""

    def __init__(
        self,
        settings_store: SettingsStore,
        secrets: SecretStore,
        guard: Callable[[str], None] | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
        list_timeout_s: float = 5.0,
    ) -> None:
        self.settings_store = settings_store
        self.secrets = secrets
        self._guard = guard
        self._transport = transport
        self._list_timeout_s = list_timeout_s
        self._lock = threading.Lock()
        self._clients: dict[str, httpx.Client] = {}
        self._cached = Listing()

    # -------------------------------------------------------------- endpoints
    def endpoints(self) -> list[RemoteEndpoint]:
        return list(self.settings_store.load().remotes)

    def get(self, name: str) -> RemoteEndpoint | None:
        return next((e for e in self.endpoints() if e.name == name), None)

    def save(
        self,
        name: str,
        base_url: str,
        *,
        api_key: str | None = None,
        enabled: bool = True,
        allow_file: bool = False,
        replace: str | None = None,
    ) -> RemoteEndpoint:
        """Add or update an endpoint (``replace`` = its old name when renaming).

        ``api_key``: None keeps the stored key, "" forgets it. Raises ``ValueError`` for bad
        input and ``SecretBackendUnavailable`` when no keyring is usable and the file
        fallback was not allowed (ask the user, then call again with ``allow_file=True``).
        """
        url = check_endpoint(name, base_url)
        old = replace or name
        existing = {e.name for e in self.endpoints()}
        if name != old and name in existing:
            raise ValueError(f"An endpoint named '{name}' already exists.")
        if replace is None and name in existing:
            raise ValueError(f"An endpoint named '{name}' already exists.")
        if api_key:
            if allow_file:
                self.secrets.allow_file_fallback(True)
            self.secrets.set(key_name(name), api_key.strip())
        elif api_key == "":
            self.secrets.delete(key_name(name))
        elif name != old:  # renamed, key unchanged: move it
            key = self.secrets.get(key_name(old))
            if key:
                self.secrets.set(key_name(name), key)
        if name != old:
            self.secrets.delete(key_name(old))
        endpoint = RemoteEndpoint(name=name, base_url=url, enabled=enabled)

        def apply(settings: Settings) -> None:
            rows = [e for e in settings.remotes if e.name != old]
            index = next((i for i, e in enumerate(settings.remotes) if e.name == old), len(rows))
            rows.insert(index, endpoint)
            settings.remotes = rows

        self.settings_store.update(apply)
        self._drop_client(old)
        return endpoint

    def remove(self, name: str) -> None:
        self.settings_store.update(
            lambda s: setattr(s, "remotes", [e for e in s.remotes if e.name != name])
        )
        self.secrets.delete(key_name(name))
        self._drop_client(name)

    def has_key(self, name: str) -> bool:
        try:
            return bool(self.secrets.get(key_name(name)))
        except Exception:
            return False

    # ----------------------------------------------------------------- engines
    def _client(self, name: str) -> httpx.Client:
        with self._lock:
            client = self._clients.get(name)
            if client is None:
                client = self._clients[name] = make_client(self._transport)
            return client

    def _drop_client(self, name: str) -> None:
        with self._lock:
            client = self._clients.pop(name, None)
        if client is not None:
            client.close()

    def _check(self, what: str) -> None:
        if self._guard is not None:
            self._guard(what)

    def engine(self, model_id: str) -> RemoteEngine:
        """A ``RemoteEngine`` for ``remote:<endpoint>/<model>``; raises ``RemoteError``."""
        parsed = parse_remote_id(model_id)
        if parsed is None:
            raise RemoteError(f"'{model_id}' is not a remote model id.")
        name, model = parsed
        endpoint = self.get(name)
        if endpoint is None:
            raise RemoteError(f"There is no remote endpoint named '{name}'.")
        if not endpoint.enabled:
            raise RemoteError(f"The remote endpoint '{name}' is turned off.")
        self._check(f"The remote engine '{name}'")
        return RemoteEngine(
            name,
            endpoint.base_url,
            model,
            self.secrets.get(key_name(name)),
            guard=self._guard,
            client=self._client(name),
        )

    def list_endpoint(self, name: str) -> list[RemoteModel]:
        """One endpoint's models (raises ``RemoteError`` or ``LocalOnlyError``)."""
        endpoint = self.get(name)
        if endpoint is None:
            raise RemoteError(f"There is no remote endpoint named '{name}'.")
        self._check(f"The remote engine '{name}'")
        key = self.secrets.get(key_name(name))
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        client = self._client(name)
        ids = list_models(client, endpoint.base_url, headers, name, self._list_timeout_s)
        return [RemoteModel(name, m) for m in ids]

    def test(self, name: str, base_url: str, api_key: str | None) -> list[str]:
        """Try an endpoint before saving it: its model ids, or ``RemoteError``."""
        url = check_endpoint(name, base_url)
        self._check(f"The remote engine '{name}'")
        if api_key is None:
            api_key = self.secrets.get(key_name(name))
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        with make_client(self._transport) as client:
            return list_models(client, url, headers, name, self._list_timeout_s)

    def list_all(self, on_partial: Callable[[Listing], None] | None = None) -> Listing:
        """Every enabled endpoint's models, asked in parallel; remembered for ``cached``.

        ``on_partial`` gets the listing so far each time an endpoint answers, so a picker
        need not wait for the slowest endpoint's timeout.
        """
        enabled = [e for e in self.endpoints() if e.enabled]
        if not enabled:
            self._cached = Listing()
            return self._cached
        self._check("Remote engines")

        def one(endpoint: RemoteEndpoint) -> list[RemoteModel] | str:
            try:
                return self.list_endpoint(endpoint.name)
            except Exception as exc:
                return str(exc)

        results: dict[str, list[RemoteModel] | str] = {}
        with ThreadPoolExecutor(max_workers=min(8, len(enabled))) as pool:
            futures = {pool.submit(one, e): e.name for e in enabled}
            for future in as_completed(futures):
                results[futures[future]] = future.result()
                if on_partial is not None and len(results) < len(enabled):
                    on_partial(_merge(enabled, results))
        listing = _merge(enabled, results)
        self._cached = listing
        return listing

    def cached(self) -> Listing:
        """The last ``list_all`` answer (no network)."""
        return self._cached

    def close(self) -> None:
        with self._lock:
            clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            client.close()


def _merge(order: list[RemoteEndpoint], results: dict[str, list[RemoteModel] | str]) -> Listing:
    """The answers so far, in the endpoints' order (so the list never reshuffles)."""
    listing = Listing()
    for endpoint in order:
        result = results.get(endpoint.name)
        if isinstance(result, str):
            listing.errors[endpoint.name] = result
        elif result is not None:
            listing.models.extend(result)
    return listing
