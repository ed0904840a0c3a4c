"""Split parts are one entry, projectors are flagged, unsafe names never grouped."""

from __future__ import annotations

from app.backend.hub import RemoteFile, group_gguf_files


def test_split_parts_group_in_order_and_sum_sizes() -> None:
    files = [
        RemoteFile("big-Q4_K_M-00002-of-00003.gguf", 20),
        RemoteFile("big-Q4_K_M-00001-of-00003.gguf", 10),
        RemoteFile("big-Q4_K_M-00003-of-00003.gguf", 30),
        RemoteFile("big-Q8_0.gguf", 100),
        RemoteFile("README.md", 1),
    ]
    entries, refused = group_gguf_files(files)
    assert refused == []
    split = next(e for e in entries if e.is_split)
    assert split.label == "big-Q4_K_M.gguf"
    assert split.quant == "Q4_K_M"
    assert [p.size for p in split.parts] == [10, 20, 30]
    assert split.size == 60 and split.complete
    assert {e.quant for e in entries} == {"Q4_K_M", "Q8_0"}


def test_quant_from_folder_and_missing_parts() -> None:
    entries, _ = group_gguf_files([RemoteFile("IQ4_XS/model-00001-of-00002.gguf", 5)])
    assert entries[0].quant == "IQ4_XS"
    assert not entries[0].complete


def test_projectors_are_flagged_and_listed_last() -> None:
    entries, _ = group_gguf_files(
        [RemoteFile("mmproj-model-f16.gguf", 50), RemoteFile("model-Q4_K_M.gguf", 500)]
    )
    assert [e.is_mmproj for e in entries] == [False, True]
    assert entries[1].quant == "F16"


def test_unsafe_names_are_refused() -> None:
    entries, refused = group_gguf_files(
        [RemoteFile("../evil-Q4_K_M.gguf", 5), RemoteFile("ok-Q4_K_M.gguf", 5)]
    )
    assert [e.label for e in entries] == ["ok-Q4_K_M.gguf"]
    assert refused == ["../evil-Q4_K_M.gguf"]
