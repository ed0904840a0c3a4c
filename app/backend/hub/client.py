"""Talking to the Hugging Face Hub: search, repo details with file hashes, the model card.

API calls go through ``huggingface_hub.HfApi`` (so ``HF_ENDPOINT`` mirrors and the Hub's
own paging work as they do for every other tool); errors become ``HubError`` with a
sentence for the user. The endpoint is read when a client is made, not at import time.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal
from urllib.parse import quote

from huggingface_hub import HfApi
from huggingface_hub.errors import (
    GatedRepoError,
    HfHubHTTPError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)

from app.backend.hub import http
from app.backend.hub.files import GGUFEntry, RemoteFile, group_gguf_files
from app.backend.hub.names import validate_remote_filename, validate_repo_id

DEFAULT_ENDPOINT = "https://huggingface.co"
SearchSort = Literal["downloads", "likes", "last_modified"]
SORTS: dict[str, str] = {
    "downloads": "Most downloads",
    "likes": "Most likes",
    "last_modified": "Recently updated",
}


class HubError(Exception):
    """The Hub could not answer; ``str()`` is meant for the user. ``needs_token`` for 401/403."""

    def __init__(self, message: str, *, needs_token: bool = False, status: int = 0) -> None:
        super().__init__(message)
        self.needs_token = needs_token
        self.status = status


def hub_endpoint() -> str:
    return os.environ.get("HF_ENDPOINT", DEFAULT_ENDPOINT).rstrip("/")


@dataclass(frozen=True)
class ModelSummary:
    """One search result."""

    repo_id: str
    author: str
    downloads: int
    likes: int
    last_modified: datetime | None
    tags: tuple[str, ...] = ()
    gated: bool = False


@dataclass(frozen=True)
class RepoDetails:
    """A model page: facts, every file with its sha256, and the GGUF entries."""

    repo_id: str
    commit: str
    downloads: int
    likes: int
    last_modified: datetime | None
    gated: bool
    tags: tuple[str, ...]
    files: tuple[RemoteFile, ...]
    entries: tuple[GGUFEntry, ...]
    refused_files: tuple[str, ...] = ()
    pipeline_tag: str | None = None

    @property
    def models(self) -> list[GGUFEntry]:
        return [e for e in self.entries if not e.is_mmproj]

    @property
    def projectors(self) -> list[GGUFEntry]:
        return [e for e in self.entries if e.is_mmproj]

    def find_quant(self, quant: str) -> GGUFEntry | None:
        wanted = quant.upper()
        matches = [e for e in self.models if e.quant.upper() == wanted]
        return matches[0] if matches else None


def _summary(info: Any) -> ModelSummary:
    return ModelSummary(
        repo_id=info.id,
        author=info.author or info.id.split("/")[0],
        downloads=int(info.downloads or 0),
        likes=int(info.likes or 0),
        last_modified=info.last_modified,
        tags=tuple(info.tags or ()),
        gated=bool(info.gated),
    )


@dataclass
class SearchCursor:
    """Pages of search results; ``next_page`` pulls only what it needs from the Hub."""

    _items: Iterator[Any]
    page_size: int
    exhausted: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def next_page(self) -> list[ModelSummary]:
        out: list[ModelSummary] = []
        with self._lock, _hub_errors("search the Hub"):
            while len(out) < self.page_size and not self.exhausted:
                try:
                    out.append(_summary(next(self._items)))
                except StopIteration:
                    self.exhausted = True
        return out


class _hub_errors:
    """Context manager turning huggingface_hub / network exceptions into ``HubError``."""

    def __init__(self, what: str, repo_id: str | None = None) -> None:
        self.what = what
        self.repo_id = repo_id

    def __enter__(self) -> None:
        return None

    def __exit__(self, tp: type[BaseException] | None, exc: BaseException | None, tb: Any) -> None:
        if exc is None or isinstance(exc, HubError):
            return
        name = f"'{self.repo_id}'" if self.repo_id else "the repo"
        if isinstance(exc, GatedRepoError) or (
            isinstance(exc, HfHubHTTPError)
            and exc.response is not None
            and exc.response.status_code in (401, 403)
            and not isinstance(exc, RepositoryNotFoundError)
        ):
            raise HubError(
                f"{name} is gated or private: accept its terms on Hugging Face and add an "
                "access token (Discover → Hugging Face token).",
                needs_token=True,
                status=401,
            ) from None
        if isinstance(exc, RepositoryNotFoundError):
            raise HubError(
                f"No model {name} on Hugging Face (or it is private and needs a token).",
                needs_token=True,
                status=404,
            ) from None
        if isinstance(exc, RevisionNotFoundError):
            raise HubError(f"{name} has no such branch or commit.", status=404) from None
        if isinstance(exc, HfHubHTTPError):
            status = exc.response.status_code if exc.response is not None else 0
            raise HubError(
                f"Hugging Face answered with an error ({status}) when trying to {self.what}.",
                status=status,
            ) from None
        if isinstance(exc, (OSError, ConnectionError)) or "httpx" in type(exc).__module__:
            raise HubError(
                f"Could not {self.what}: Hugging Face is not reachable. Check the internet "
                "connection (installed models still work offline)."
            ) from None


class HubClient:
    """Search and repo details through ``HfApi``; bytes through ``app.backend.hub.http``."""

    def __init__(
        self, endpoint: str | None = None, token: str | None = None, timeout: float = 20.0
    ) -> None:
        self.endpoint = (endpoint or hub_endpoint()).rstrip("/")
        self.token = token or None
        self.timeout = timeout
        self.api = HfApi(endpoint=self.endpoint, token=self.token or False)

    def search(
        self, query: str, sort: SearchSort = "downloads", page_size: int = 30
    ) -> SearchCursor:
        """GGUF repos matching ``query``, most downloaded (or liked, or recent) first."""
        items = self.api.list_models(
            search=query.strip() or None,
            filter="gguf",
            sort=sort,
            expand=["author", "downloads", "likes", "lastModified", "tags", "gated"],
        )
        return SearchCursor(iter(items), page_size)

    def repo_details(self, repo_id: str, revision: str = "main") -> RepoDetails:
        """Every file with size and sha256 (``model_info(files_metadata=True)``)."""
        validate_repo_id(repo_id)
        with _hub_errors("read the model's files", repo_id):
            info = self.api.model_info(
                repo_id, revision=None if revision == "main" else revision, files_metadata=True
            )
        files = tuple(
            RemoteFile(
                path=s.rfilename,
                size=int((s.lfs.size if s.lfs else s.size) or 0),
                sha256=s.lfs.sha256 if s.lfs else None,
            )
            for s in info.siblings or ()
        )
        entries, refused = group_gguf_files(files)
        return RepoDetails(
            repo_id=info.id,
            commit=info.sha or revision,
            downloads=int(info.downloads or 0),
            likes=int(info.likes or 0),
            last_modified=info.last_modified,
            gated=bool(info.gated),
            tags=tuple(info.tags or ()),
            files=files,
            entries=tuple(entries),
            refused_files=tuple(refused),
            pipeline_tag=info.pipeline_tag,
        )

    def resolve_url(self, repo_id: str, filename: str, revision: str = "main") -> str:
        validate_repo_id(repo_id)
        validate_remote_filename(filename)
        return (
            f"{self.endpoint}/{repo_id}/resolve/{quote(revision, safe='')}/"
            f"{quote(filename, safe='/')}"
        )

    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def readme(self, repo_id: str, revision: str = "main", limit: int = 512 * 1024) -> str:
        """The model card's Markdown (front matter removed); "" when the repo has none."""
        url = self.resolve_url(repo_id, "README.md", revision)
        try:
            with http.request("GET", url, headers=self.auth_headers(), timeout=self.timeout) as r:
                text = r.read(limit).decode("utf-8", "replace")
        except http.HttpError as exc:
            if exc.status == 404:
                return ""
            if exc.status in (401, 403):
                raise HubError(
                    f"'{repo_id}' is gated: add a Hugging Face token to read it.",
                    needs_token=True,
                    status=exc.status,
                ) from None
            raise HubError(f"Could not read the model card ({exc.status}).") from None
        except http.NetworkError as exc:
            raise HubError(f"Could not read the model card: {exc}.") from None
        return strip_front_matter(text)


def strip_front_matter(markdown: str) -> str:
    """Drop the YAML block (``---`` ... ``---``) that model cards start with."""
    if markdown.startswith("---"):
        end = markdown.find("\n---", 3)
        if end != -1:
            return markdown[end + 4 :].lstrip("\n")
    return markdown
