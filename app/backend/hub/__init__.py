"""The Hugging Face Hub: search, repo files with hashes, remote headers, fit verdicts."""

from app.backend.hub.client import (
    SORTS,
    HubClient,
    HubError,
    ModelSummary,
    RepoDetails,
    SearchCursor,
    hub_endpoint,
)
from app.backend.hub.files import GGUFEntry, RemoteFile, group_gguf_files
from app.backend.hub.fit import (
    FileChoice,
    FitEstimate,
    best_fit_by_size,
    fit_from_header,
    fit_from_size,
    fit_sort_key,
    fits,
    recommend,
    result_sort_key,
)
from app.backend.hub.names import (
    BadRepoReference,
    RepoReference,
    UnsafeFilename,
    parse_repo_reference,
    validate_remote_filename,
    validate_repo_id,
)
from app.backend.hub.remote_header import fetch_remote_header, merge_split_headers
from app.backend.hub.token import ConsentNeeded, FileFallbackRefused, HubToken, TokenStatus

__all__ = [
    "SORTS",
    "BadRepoReference",
    "ConsentNeeded",
    "FileChoice",
    "FileFallbackRefused",
    "FitEstimate",
    "GGUFEntry",
    "HubClient",
    "HubError",
    "HubToken",
    "ModelSummary",
    "RemoteFile",
    "RepoDetails",
    "RepoReference",
    "SearchCursor",
    "TokenStatus",
    "UnsafeFilename",
    "best_fit_by_size",
    "fetch_remote_header",
    "fit_from_header",
    "fit_from_size",
    "fit_sort_key",
    "fits",
    "group_gguf_files",
    "hub_endpoint",
    "merge_split_headers",
    "parse_repo_reference",
    "recommend",
    "result_sort_key",
    "validate_remote_filename",
    "validate_repo_id",
]
