"""From a repo's GGUF entry to the files to fetch, with their library destinations."""

from __future__ import annotations

from pathlib import PurePosixPath

from app.backend.downloads.types import DownloadSpec
from app.backend.hub.client import HubClient, RepoDetails
from app.backend.hub.files import GGUFEntry
from app.backend.hub.names import validate_remote_filename, validate_repo_id


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
    """The vision projector to fetch with a model of this repo, if it has any.

    F16 first (what llama.cpp's own model pages ship and load by default), else the
    smallest complete one; a projector with missing split parts is never chosen.
    """
    projectors = [p for p in details.projectors if p.complete]
    f16 = [p for p in projectors if p.quant.upper() == "F16"]
    pool = f16 or projectors
    return min(pool, key=lambda p: (p.size, p.label), default=None)


def plan_model_downloads(
    client: HubClient, details: RepoDetails, entry: GGUFEntry, *, with_projector: bool = True
) -> list[DownloadSpec]:
    """The files of ``entry`` plus, for a model of a repo that has one, its projector.

    The projector lands in the same ``publisher/repo`` folder, where the library pairs it
    with the model (``LocalModel.projector``).
    """
    specs = plan_entry_downloads(client, details, entry)
    projector = choose_projector(details) if with_projector and not entry.is_mmproj else None
    if projector is not None:
        specs += plan_entry_downloads(client, details, projector)
    return specs
