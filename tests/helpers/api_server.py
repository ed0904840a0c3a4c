"""A real Hearth API server on loopback for tests: its own data root, tiny models, port 0."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.backend.core import HearthCore
from app.backend.paths import DataPaths
from app.backend.server.runner import ServerRunner
from tests.helpers.gguf_factory import write_tiny_llama

TINY = "acme/tiny/F32"
TOOLS = "acme/tools/F32"


@dataclass
class Api:
    core: HearthCore
    runner: ServerRunner
    url: str
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def port(self) -> int:
        port = self.runner.port
        assert port is not None
        return port

    def stop(self) -> None:
        self.runner.stop()
        self.runner.request_log.close()
        self.core.close()


def tiny_home(root: Path, tool_template: str | None = None) -> Path:
    """A data root with the tiny model (and, given a template, a tool-calling twin)."""
    write_tiny_llama(root / "models" / "acme" / "tiny" / "tiny-F32.gguf")
    if tool_template is not None:
        write_tiny_llama(
            root / "models" / "acme" / "tools" / "tools-F32.gguf",
            chat_template=tool_template,
            n_ctx_train=4096,
            name="Tiny Llama 3.1 Instruct",
        )
    return root


def start_api(root: Path, **overrides: Any) -> Api:
    core = HearthCore(DataPaths(root))
    runner = ServerRunner(core)
    url = runner.start({"port": 0, **overrides})
    return Api(core, runner, url)


def serve(root: Path, **overrides: Any) -> Iterator[Api]:
    api = start_api(root, **overrides)
    try:
        yield api
    finally:
        api.stop()


def starter_link(root: Path, starter_file: Path) -> Path:
    from app.backend.starter import starter_path

    target = starter_path(root / "models")
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.exists():
        os.symlink(starter_file, target)
    return root
