"""The Hub client and unmodified ``huggingface_hub`` calls against the emulator (real sockets)."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from huggingface_hub import HfApi, hf_hub_download

from app.backend.hub import HubClient, HubError
from tests.helpers.hub_emulator import Fault, HubEmulator

REPO = "acme/tiny-GGUF"


def _fill(hub: HubEmulator, gguf_small: bytes) -> None:
    hub.add_repo(
        REPO,
        {
            "tiny-Q8_0.gguf": gguf_small,
            "tiny-Q4_K_M-00001-of-00002.gguf": gguf_small[:1000],
            "tiny-Q4_K_M-00002-of-00002.gguf": gguf_small[1000:],
            "mmproj-tiny-f16.gguf": gguf_small[:5000],
        },
        readme="---\nlicense: mit\n---\n# Tiny\n\nA **tiny** model.",
        downloads=50,
        likes=1,
    )
    for i in range(7):
        hub.add_repo(
            f"other/model{i}-GGUF",
            {"m-Q4_0.gguf": b"GGUF" + bytes(10)},
            downloads=i,
            likes=10 - i,
            last_modified=datetime(2024, 1, 1 + i, tzinfo=UTC),
        )
    hub.add_repo("other/not-gguf", {"x.gguf": b"GGUF"}, tags=["pytorch"])


def test_search_pages_and_sorts(hub: HubEmulator, gguf_small: bytes) -> None:
    _fill(hub, gguf_small)
    hub.page_size = 3
    client = HubClient(endpoint=hub.endpoint)
    cursor = client.search("GGUF", sort="downloads", page_size=5)
    first = cursor.next_page()
    assert [m.repo_id for m in first][:2] == [REPO, "other/model6-GGUF"]
    rest = cursor.next_page()
    assert len(first) == 5 and len(rest) == 3 and cursor.exhausted
    assert "other/not-gguf" not in {m.repo_id for m in first + rest}  # GGUF filter
    liked = client.search("model", sort="likes", page_size=2).next_page()
    assert [m.repo_id for m in liked] == ["other/model0-GGUF", "other/model1-GGUF"]
    recent = client.search("model", sort="last_modified", page_size=1).next_page()
    assert recent[0].repo_id == "other/model6-GGUF"
    # The Hub was asked for pages lazily, following its Link headers.
    assert any("cursor=" in r.path for r in hub.requests if r.path.startswith("/api/models?"))


def test_repo_details_group_files_with_hashes(hub: HubEmulator, gguf_small: bytes) -> None:
    _fill(hub, gguf_small)
    details = HubClient(endpoint=hub.endpoint).repo_details(REPO)
    assert [e.quant for e in details.models] == ["Q4_K_M", "Q8_0"]
    q8 = details.find_quant("q8_0")
    assert q8 is not None and q8.first.sha256 == hashlib.sha256(gguf_small).hexdigest()
    assert details.find_quant("Q4_K_M").is_split  # type: ignore[union-attr]
    assert [p.label for p in details.projectors] == ["mmproj-tiny-f16.gguf"]
    assert len(details.commit) == 40


def test_readme_has_no_front_matter(hub: HubEmulator, gguf_small: bytes) -> None:
    _fill(hub, gguf_small)
    assert HubClient(endpoint=hub.endpoint).readme(REPO).startswith("# Tiny")


def test_gated_repo_needs_a_token(hub: HubEmulator, gguf_small: bytes) -> None:
    hub.add_repo("meta/gated-GGUF", {"g-Q4_0.gguf": gguf_small}, gated=True)
    with pytest.raises(HubError) as info:
        HubClient(endpoint=hub.endpoint).repo_details("meta/gated-GGUF")
    assert info.value.needs_token and "token" in str(info.value)
    ok = HubClient(endpoint=hub.endpoint, token=hub.token).repo_details("meta/gated-GGUF")
    assert ok.models[0].quant == "Q4_0"


def test_missing_repo_and_unreachable_hub() -> None:
    with HubEmulator() as hub:
        with pytest.raises(HubError, match="No model"):
            HubClient(endpoint=hub.endpoint).repo_details("nobody/nothing")
        endpoint = hub.endpoint
    with pytest.raises(HubError, match="not reachable"):
        HubClient(endpoint=endpoint).repo_details("nobody/nothing")


def test_unmodified_huggingface_hub_calls(
    hub: HubEmulator, gguf_small: bytes, tmp_path: Path
) -> None:
    _fill(hub, gguf_small)
    api = HfApi(endpoint=hub.endpoint)
    assert REPO in [m.id for m in api.list_models(search="tiny", filter="gguf")]
    info = api.model_info(REPO, files_metadata=True)
    sib = {s.rfilename: s for s in info.siblings or []}
    assert sib["tiny-Q8_0.gguf"].lfs is not None
    assert sib["tiny-Q8_0.gguf"].lfs.sha256 == hashlib.sha256(gguf_small).hexdigest()
    tree = {f.path for f in api.list_repo_tree(REPO)}
    assert "tiny-Q8_0.gguf" in tree and "README.md" in tree
    path = hf_hub_download(REPO, "tiny-Q8_0.gguf", endpoint=hub.endpoint, cache_dir=tmp_path)
    assert Path(path).read_bytes() == gguf_small
    cdn = [r for r in hub.requests if r.host == "cdn"]
    assert cdn and "authorization" not in cdn[-1].headers  # bytes come from the second host


def test_hf_hub_download_accepts_a_flipped_byte(
    hub: HubEmulator, gguf_small: bytes, tmp_path: Path
) -> None:
    """Why we verify ourselves: huggingface_hub checks only the size."""
    _fill(hub, gguf_small)
    hub.fault(REPO, "tiny-Q8_0.gguf", Fault(flip_byte_at=1234))
    path = hf_hub_download(REPO, "tiny-Q8_0.gguf", endpoint=hub.endpoint, cache_dir=tmp_path)
    data = Path(path).read_bytes()
    assert len(data) == len(gguf_small) and data != gguf_small


def test_hf_endpoint_environment_variable(hub: HubEmulator, gguf_small: bytes) -> None:
    """``HF_ENDPOINT`` alone points stock huggingface_hub (read at import) at the emulator."""
    _fill(hub, gguf_small)
    code = (
        "from huggingface_hub import HfApi, hf_hub_download\n"
        f"print(HfApi().model_info({REPO!r}, files_metadata=True).sha)\n"
        f"print(hf_hub_download({REPO!r}, 'README.md'))\n"
    )
    env = dict(os.environ, HF_ENDPOINT=hub.endpoint, HF_HOME=str(Path(os.getcwd()) / ".hf"))
    env["HF_HOME"] = str(Path(env.get("HEARTH_HOME", "/tmp")) / "hf")
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split()[0] == hub.repos[REPO].commit
    assert HubClient().endpoint == "https://huggingface.co" or os.environ.get("HF_ENDPOINT")
