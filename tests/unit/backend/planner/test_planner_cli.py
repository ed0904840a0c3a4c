"""``hearth plan``: human table, JSON contract, errors to stderr."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.cli import main
from app.cli.plan import parse_size, parse_sizes
from tests.helpers.gguf_factory import ModelSpec, write_model


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("m") / "tiny-gemma3.gguf"
    spec = ModelSpec(arch="gemma3", n_layers=6, n_embd=256, n_head=4, n_head_kv=1,
                     head_dim=64, n_ctx_train=8192, name="Tiny Gemma")  # fmt: skip
    return write_model(path, spec)


def test_parse_sizes() -> None:
    assert parse_size("24G") == 24 * 1024**3
    assert parse_size("512M") == 512 * 1024**2
    assert parse_size("8GiB") == 8 * 1024**3
    assert parse_size("16") == 16 * 1024**3
    assert parse_sizes("24G,8G") == [24 * 1024**3, 8 * 1024**3]


def test_json_for_hypothetical_two_gpus(model: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["plan", str(model), "--vram", "24G,8G", "--ram", "32G", "--ctx", "4096",
               "--kv", "q8_0", "--parallel", "2", "--json"])  # fmt: skip
    assert rc == 0
    data = json.loads(capsys.readouterr().out)
    assert data["verdict"] == "full_gpu" and data["n_ctx"] == 4096
    load = data["load"]
    assert load["type_k"] == load["type_v"] == "q8_0" and load["flash_attn"] is True
    assert load["swa_full"] is True and load["n_batch"] == 512 and load["n_ubatch"] == 512
    mem = data["memory"]
    assert mem["total_bytes"] == mem["gpu_bytes"] + mem["cpu_bytes"]
    assert all(k in mem for k in ("weights_bytes", "kv_bytes", "compute_bytes"))
    assert len(data["tensor_split"]) == 2


def test_human_table(model: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", str(model), "--ram", "8G"]) == 0
    out = capsys.readouterr().out
    assert "Runs on the CPU (cpu_only)" in out
    assert "8,192 tokens" in out  # largest that fits = training context


def test_missing_file_is_an_error(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    rc = main(["plan", str(tmp_path / "nope.gguf")])
    captured = capsys.readouterr()
    assert rc != 0 and captured.out == "" and "hearth:" in captured.err


def test_not_a_gguf_is_an_error(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"<html>not a model</html>" * 10)
    assert main(["plan", str(bad)]) != 0
    assert "hearth:" in capsys.readouterr().err


def test_does_not_fit_exit_code(model: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", str(model), "--ram", "100M", "--vram", "0G"]) == 2
    assert "Does not fit" in capsys.readouterr().out
