"""Headers read over HTTP Range without downloading the model; fit verdicts from them."""

from __future__ import annotations

from pathlib import Path

from app.backend.gguf import read_header
from app.backend.hub import (
    HubClient,
    fetch_remote_header,
    fit_from_header,
    fit_from_size,
    merge_split_headers,
)
from app.backend.planner import Resources
from tests.helpers.hub_emulator import Fault, HubEmulator

GiB = 1024**3


def _cdn_bytes(hub: HubEmulator) -> int:
    total = 0
    for r in hub.requests:
        if r.host == "cdn" and r.method == "GET":
            a, _, b = r.headers["range"].removeprefix("bytes=").partition("-")
            total += int(b) - int(a) + 1
    return total


def test_starter_header_widens_to_its_6_mib_vocabulary(
    hub: HubEmulator, starter_model_file: Path
) -> None:
    hub.add_repo("google/gemma-3-270m-GGUF", {"gemma-3-270m-Q4_K_M.gguf": starter_model_file})
    client = HubClient(endpoint=hub.endpoint)
    url = client.resolve_url("google/gemma-3-270m-GGUF", "gemma-3-270m-Q4_K_M.gguf")
    size = starter_model_file.stat().st_size
    header = fetch_remote_header(url, size)
    local = read_header(starter_model_file)
    assert header.n_layers == local.n_layers and header.tensors == local.tensors
    assert header.header_bytes > 6 * 1024**2
    fetched = _cdn_bytes(hub)
    assert header.header_bytes <= fetched < 2 * header.header_bytes  # not the 253 MB file
    assert len([r for r in hub.requests if r.host == "cdn"]) <= 8


def test_header_when_the_server_ignores_range(hub: HubEmulator, gguf_small: bytes) -> None:
    hub.add_repo("a/b", {"b-F32.gguf": gguf_small})
    hub.fault("a/b", "b-F32.gguf", Fault(ignore_range=True))
    url = HubClient(endpoint=hub.endpoint).resolve_url("a/b", "b-F32.gguf")
    header = fetch_remote_header(url, len(gguf_small))
    assert header == read_header(gguf_small)


def test_fit_verdicts_from_header_and_from_size(gguf_small: bytes) -> None:
    header = read_header(gguf_small)
    big_gpu = Resources(gpu_free_bytes=(24 * GiB,), ram_available_bytes=32 * GiB)
    cpu = Resources(gpu_free_bytes=(), ram_available_bytes=16 * GiB)
    assert fit_from_header(header, big_gpu).verdict == "full_gpu"
    fit = fit_from_header(header, cpu)
    assert fit.verdict == "cpu_only" and fit.from_header and fit.memory_bytes > len(gguf_small)
    assert fit_from_size(40 * GiB, big_gpu).verdict == "partial"
    assert fit_from_size(4 * GiB, cpu).verdict == "cpu_only"
    assert fit_from_size(400 * GiB, cpu).verdict == "does_not_fit"
    assert fit_from_size(10 * GiB, big_gpu).label == "Full GPU offload"


def test_split_headers_merge_tensors(gguf_small: bytes) -> None:
    header = read_header(gguf_small)
    merged = merge_split_headers([header, header])
    assert len(merged.tensors) == 2 * len(header.tensors)
    assert merged.metadata == header.metadata
