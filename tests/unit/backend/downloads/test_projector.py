"""A model's vision projector comes with it: planned from the repo, installed beside it, and
paired with it by the library."""

from __future__ import annotations

import time
from pathlib import Path

from app.backend.downloads import (
    DownloadManager,
    DownloadSpec,
    choose_projector,
    plan_entry_downloads,
    plan_model_downloads,
)
from app.backend.hub import GGUFEntry, HubClient, RemoteFile, RepoDetails
from app.backend.library.catalog import ModelLibrary
from tests.helpers.gguf_factory import ModelSpec, write_model, write_tiny_llama
from tests.helpers.hub_emulator import HubEmulator

REPO = "acme/vision-GGUF"


def _entry(label: str, quant: str, size: int, mmproj: bool = True) -> GGUFEntry:
    return GGUFEntry(label, quant, (RemoteFile(label, size, "0" * 64),), mmproj)


def _details(*entries: GGUFEntry) -> RepoDetails:
    return RepoDetails(REPO, "c" * 40, 0, 0, None, False, (), (), tuple(entries))


def test_f16_projector_first_else_the_smallest_complete_one() -> None:
    model = _entry("m-Q4_K_M.gguf", "Q4_K_M", 100, mmproj=False)
    f32 = _entry("mmproj-m-f32.gguf", "F32", 80)
    f16 = _entry("mmproj-m-f16.gguf", "F16", 40)
    q8 = _entry("mmproj-m-q8_0.gguf", "Q8_0", 20)
    assert choose_projector(_details(model, f32, f16, q8)) == f16
    assert choose_projector(_details(model, f32, q8)) == q8
    assert choose_projector(_details(model)) is None
    broken = GGUFEntry(
        "mmproj-m-F16.gguf", "F16", (RemoteFile("mmproj-m-F16-00001-of-00002.gguf", 5),), True
    )
    assert not broken.complete and choose_projector(_details(model, broken, f32)) == f32


def test_model_download_plans_its_projector_beside_it(hub: HubEmulator, gguf_small: bytes) -> None:
    hub.add_repo(
        REPO,
        {"v-Q8_0.gguf": gguf_small, "mmproj-v-f16.gguf": gguf_small + b"p", "x.txt": b"x"},
    )
    client = HubClient(endpoint=hub.endpoint)
    details = client.repo_details(REPO)
    model = details.find_quant("Q8_0")
    assert model is not None
    dests = [s.dest for s in plan_model_downloads(client, details, model)]
    assert dests == [f"{REPO}/v-Q8_0.gguf", f"{REPO}/mmproj-v-f16.gguf"]
    assert [s.dest for s in plan_model_downloads(client, details, model, with_projector=False)] == [
        f"{REPO}/v-Q8_0.gguf"
    ]
    projector = details.projectors[0]
    assert [s.dest for s in plan_model_downloads(client, details, projector)] == [
        f"{REPO}/mmproj-v-f16.gguf"
    ]


def test_downloaded_pair_is_one_model_with_its_projector(hub: HubEmulator, tmp_path: Path) -> None:
    model_file = write_tiny_llama(tmp_path / "src" / "v-Q8_0.gguf")
    projector_file = write_model(  # a projector by its header (general.type = mmproj)
        tmp_path / "src" / "mmproj.gguf", ModelSpec(extra_metadata={"general.type": "mmproj"})
    )
    hub.add_repo(REPO, {"v-Q8_0.gguf": model_file, "mmproj-v-f16.gguf": projector_file})
    client = HubClient(endpoint=hub.endpoint)
    details = client.repo_details(REPO)
    model = details.find_quant("Q8_0")
    assert model is not None
    specs: list[DownloadSpec] = plan_model_downloads(client, details, model)
    manager = DownloadManager(tmp_path / "downloads", tmp_path / "models")
    manager.start()
    records = manager.wait([manager.enqueue(s).id for s in specs], timeout=30)
    manager.shutdown()
    assert [r.status for r in records] == ["completed", "completed"], [r.error for r in records]

    models = ModelLibrary([tmp_path / "models"]).scan()
    assert [m.id for m in models] == [f"{REPO}/Q8_0"]  # the projector is not a chat model
    assert models[0].projector == tmp_path / "models" / REPO / "mmproj-v-f16.gguf"


def test_projector_follows_the_model_and_survives_a_restart(
    hub: HubEmulator, gguf_small: bytes, tmp_path: Path
) -> None:
    hub.add_repo(REPO, {"v-Q8_0.gguf": gguf_small, "mmproj-v-f16.gguf": gguf_small + b"p"})
    client = HubClient(endpoint=hub.endpoint)
    details = client.repo_details(REPO)
    model = details.find_quant("Q8_0")
    projector = choose_projector(details)
    assert model is not None and projector is not None
    (spec,) = plan_entry_downloads(client, details, model)
    companions = plan_entry_downloads(client, details, projector)

    first = DownloadManager(tmp_path / "downloads", tmp_path / "models")
    rec = first.enqueue(spec, then=companions)  # not started: as if the app closed now
    first.shutdown()
    assert "mmproj-v-f16.gguf" in (tmp_path / "downloads" / "state.json").read_text()

    second = DownloadManager(tmp_path / "downloads", tmp_path / "models")
    second.start()
    assert second.wait([rec.id], timeout=30)[0].status == "completed"
    deadline = time.monotonic() + 30
    while len(second.records()) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    follower = next(r for r in second.records() if r.id != rec.id)
    assert second.wait([follower.id], timeout=30)[0].status == "completed"
    assert (tmp_path / "models" / REPO / "mmproj-v-f16.gguf").read_bytes() == gguf_small + b"p"
    second.shutdown()

    # Another quant of the same repo later: the projector is already there, not fetched again.
    third = DownloadManager(tmp_path / "downloads2", tmp_path / "models")
    third.start()
    again = third.enqueue(spec, then=companions)
    assert third.wait([again.id], timeout=30)[0].status == "completed"
    time.sleep(0.3)
    assert [r.id for r in third.records()] == [again.id]
    third.shutdown()
