"""Remote names are refused before any path is built from them."""

from __future__ import annotations

import pytest

from app.backend.hub import (
    BadRepoReference,
    UnsafeFilename,
    parse_repo_reference,
    validate_remote_filename,
)


@pytest.mark.parametrize(
    "name",
    [
        "model-Q4_K_M.gguf",
        "Q4_K_M/model-00001-of-00002.gguf",
        "sub.dir/file..name.gguf",
    ],
)
def test_ordinary_names_pass(name: str) -> None:
    assert validate_remote_filename(name) == name


@pytest.mark.parametrize(
    "name",
    [
        "",
        "../evil.gguf",
        "a/../../evil.gguf",
        "./x.gguf",
        "/etc/passwd",
        "C:\\evil.gguf",
        "C:evil.gguf",
        "D:/evil.gguf",
        "\\\\server\\share\\evil.gguf",
        "//server/share/evil.gguf",
        "a\\..\\evil.gguf",
        "a//b.gguf",
        "nul\x00.gguf",
        "line\nbreak.gguf",
        "trailing./x.gguf",
    ],
)
def test_escaping_names_are_refused(name: str) -> None:
    with pytest.raises(UnsafeFilename):
        validate_remote_filename(name)


@pytest.mark.parametrize(
    ("text", "repo", "quant", "filename", "revision"),
    [
        ("bartowski/Qwen-GGUF", "bartowski/Qwen-GGUF", None, None, "main"),
        ("bartowski/Qwen-GGUF:q4_k_m", "bartowski/Qwen-GGUF", "Q4_K_M", None, "main"),
        ("hf.co/unsloth/gemma-3-GGUF:Q8_0", "unsloth/gemma-3-GGUF", "Q8_0", None, "main"),
        ("https://huggingface.co/unsloth/gemma-3-GGUF", "unsloth/gemma-3-GGUF", None, None, "main"),
        (
            "https://huggingface.co/a/b-GGUF/blob/main/b-Q4_K_M.gguf",
            "a/b-GGUF", None, "b-Q4_K_M.gguf", "main",
        ),
        (
            "https://huggingface.co/a/b-GGUF/resolve/abc123/Q8/b-00001-of-00002.gguf?download=1",
            "a/b-GGUF", None, "Q8/b-00001-of-00002.gguf", "abc123",
        ),
        ("https://huggingface.co/a/b/tree/dev", "a/b", None, None, "dev"),
    ],
)  # fmt: skip
def test_references(
    text: str, repo: str, quant: str | None, filename: str | None, revision: str
) -> None:
    ref = parse_repo_reference(text)
    assert (ref.repo_id, ref.quant, ref.filename, ref.revision) == (
        repo,
        quant,
        filename,
        revision,
    )


def test_mirror_endpoint_urls_count_as_hub_urls() -> None:
    ref = parse_repo_reference("http://127.0.0.1:9999/a/b", endpoint="http://127.0.0.1:9999")
    assert ref.repo_id == "a/b"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "justaword",
        "https://example.com/a/b",
        "a/../b",
        "https://huggingface.co/a/b/blob/main/../../x.gguf",
        "a/b c",
    ],
)
def test_bad_references(text: str) -> None:
    with pytest.raises((BadRepoReference, UnsafeFilename)):
        parse_repo_reference(text)
