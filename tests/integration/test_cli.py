"""The `hearth` command as a user runs it: a real subprocess, real models, real exit codes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from app import __version__
from tests.helpers.gguf_factory import write_not_gguf, write_tiny_llama


def hearth(*args: str, home: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, HEARTH_HOME=str(home))
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        capture_output=True,
        text=True,
        env=env,
        input=stdin,
        timeout=180,
    )


def test_version(isolated_home: Path) -> None:
    result = hearth("--version", home=isolated_home)
    assert result.returncode == 0
    assert __version__ in result.stdout


def test_ls_without_models_says_how_to_get_one(isolated_home: Path) -> None:
    result = hearth("ls", home=isolated_home)
    assert result.returncode == 0
    assert "No models installed" in result.stdout
    assert "make setup" in result.stdout


def test_ls_prints_the_id_first_on_each_line(isolated_home: Path) -> None:
    write_tiny_llama(isolated_home / "models" / "acme" / "tiny-llama" / "tiny-llama-F32.gguf")
    write_tiny_llama(isolated_home / "models" / "acme" / "other" / "other-Q8_0.gguf")
    result = hearth("ls", home=isolated_home)
    assert result.returncode == 0
    first_words = [line.split()[0] for line in result.stdout.splitlines()]
    assert first_words == ["acme/other/Q8_0", "acme/tiny-llama/F32"]


def test_run_streams_a_reply_from_a_model_id(isolated_home: Path) -> None:
    write_tiny_llama(isolated_home / "models" / "acme" / "tiny-llama" / "tiny-llama-F32.gguf")
    result = hearth(
        "run", "acme/tiny-llama/F32", "hello", "--max-tokens", "8", "--stats", home=isolated_home
    )
    assert result.returncode == 0, result.stderr
    assert "tok/s" in result.stderr
    assert result.stdout.strip()


def test_run_accepts_a_path_and_a_prompt_from_stdin(isolated_home: Path, tmp_path: Path) -> None:
    path = write_tiny_llama(tmp_path / "loose.gguf")
    result = hearth("run", str(path), "-", "--max-tokens", "4", home=isolated_home, stdin="hi")
    assert result.returncode == 0, result.stderr


def test_run_unknown_model_fails_on_stderr(isolated_home: Path) -> None:
    result = hearth("run", "no-such-model", "hi", home=isolated_home)
    assert result.returncode != 0
    assert "No model 'no-such-model'" in result.stderr
    assert result.stdout == ""


def test_run_broken_file_names_the_problem(isolated_home: Path, tmp_path: Path) -> None:
    bad = write_not_gguf(tmp_path / "bad.gguf")
    result = hearth("run", str(bad), "hi", home=isolated_home)
    assert result.returncode != 0
    assert "not a GGUF" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.starter
def test_run_with_the_starter_model(isolated_home: Path, starter_model_file: Path) -> None:
    target = isolated_home / "models" / "google" / "gemma-3-270m" / "gemma-3-270m-Q4_K_M.gguf"
    target.parent.mkdir(parents=True)
    os.symlink(starter_model_file, target)
    listed = hearth("ls", home=isolated_home)
    assert listed.stdout.startswith("google/gemma-3-270m/Q4_K_M")
    result = hearth(
        "run",
        "google/gemma-3-270m/Q4_K_M",
        "The Eiffel Tower is located in the city of",
        "--temperature",
        "0",
        "--max-tokens",
        "12",
        home=isolated_home,
    )
    assert result.returncode == 0, result.stderr
    assert "Paris" in result.stdout
