"""API use is counted per client token (usage.db) and audited (hash-chained log, no content)."""

from __future__ import annotations

from pathlib import Path

import openai
import pytest

from app.backend.server.tokens import TokenStore
from app.backend.usage import api_source
from tests.helpers.api_server import TINY, start_api, tiny_home

pytest.importorskip("llama_cpp")


def test_api_requests_are_counted_per_token_and_audited_without_content(tmp_path: Path) -> None:
    root = tiny_home(tmp_path / "home")
    _record, token = TokenStore.in_root(root).create("ci-bot")
    api = start_api(root)
    try:
        client = openai.OpenAI(base_url=f"{api.url}/v1", api_key=token, max_retries=0)
        reply = client.completions.create(
            model=TINY, prompt="secret prompt text", max_tokens=5, temperature=0
        )
        usage = reply.usage
        assert usage is not None
        with pytest.raises(openai.NotFoundError):
            client.completions.create(model="no/such/model", prompt="x", max_tokens=2)
    finally:
        api.stop()

    from app.backend.core import HearthCore
    from app.backend.paths import DataPaths

    core = HearthCore(DataPaths(root))
    try:
        records = core.usage.store.records()
        assert [(r.source, r.model_id) for r in records] == [(api_source("ci-bot"), TINY)]
        assert records[0].prompt_tokens == usage.prompt_tokens
        assert records[0].completion_tokens == usage.completion_tokens
        lines = core.audit.entries()
        assert [(e["client"], e["status"]) for e in lines] == [("ci-bot", 200), ("ci-bot", 404)]
        assert core.audit.verify().ok
        raw = (root / "audit" / "api-audit.jsonl").read_text()
        assert "secret prompt text" not in raw
        assert token not in raw
    finally:
        core.close()
