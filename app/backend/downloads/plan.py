"""From a repo's GGUF entry to the files to fetch, with their library destinations."""

from __future__ import annotations

from pathlib import PurePosixPath

from app.backend.downloads.types import DownloadSpec
from app.backend.hub.client import HubClient, RepoDetails
from app.backend.hub.files import GGUFEntry
from app.backend.hub.names import validate_remote_filename, validate_repo_id
from app.backend.library.ids import projector_rank


def plan_entry_downloads(
    client: HubClient, details: RepoDetails, entry: GGUFEntry
) -> list[DownloadSpec]:
    """One spec per part, pinned to the commit the hashes came from.

    Files land in ``publisher/repo/<file name>`` (the library's layout): folders inside the
    repo are flattened so every part of a split model sits side by side.
    """
    repo_id = validate_repo_id(details.repo_id)
    specs = []
    for part in entry.parts:
        validate_remote_filename(part.path)
        name = PurePosixPath(part.path).name
        specs.append(
            DownloadSpec(
                repo_id=repo_id,
                filename=part.path,
                url=client.resolve_url(repo_id, part.path, details.commit),
                size=part.size,
                sha256=part.sha256,
                dest=f"{repo_id}/{name}",
                revision=details.commit,
                group=entry.label,
            )
        )
    return specs


def choose_projector(details: RepoDetails) -> GGUFEntry | None:
    """The vision projector to fetch with a model of this repo, if it has any: by
    ``projector_rank`` (F16 first, else the smallest); one with missing split parts is
    never chosen."""
    projectors = [p for p in details.projectors if p.complete]
    return min(projectors, key=lambda p: projector_rank(p.quant, p.size, p.label), default=None)


def plan_projector_downloads(
    client: HubClient, details: RepoDetails, entry: GGUFEntry
) -> list[DownloadSpec]:
    """The projector files to fetch with ``entry``: none when ``entry`` is itself a
    projector or the repo has none. They land in the same ``publisher/repo`` folder, where
    the library pairs them with the model (``LocalModel.projector``)."""
    projector = None if entry.is_mmproj else choose_projector(details)
    return plan_entry_downloads(client, details, projector) if projector else []


def plan_model_downloads(
    client: HubClient, details: RepoDetails, entry: GGUFEntry, *, with_projector: bool = True
) -> list[DownloadSpec]:
    """The files of ``entry`` plus, for a model of a repo that has one, its projector."""
    specs = plan_entry_downloads(client, details, entry)
    if with_projector:
        specs += plan_projector_downloads(client, details, entry)
    return specs
