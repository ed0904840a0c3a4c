"""API tokens: shown once, stored as salted hashes, verified, revoked, shared across processes."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from app.backend.server.tokens import TokenStore


def test_a_token_is_stored_only_as_a_salted_hash(tmp_path: Path) -> None:
    store = TokenStore.in_root(tmp_path)
    record, token = store.create("laptop")
    text = store.path.read_text()
    assert token not in text and token[4:20] not in text
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    saved = json.loads(text)["tokens"][0]
    assert saved["name"] == "laptop" and len(saved["salt"]) == 32 and len(saved["hash"]) == 64
    assert store.verify(token) == record
    assert store.verify(token + "x") is None and store.verify("") is None


def test_same_token_text_never_hashes_the_same_twice(tmp_path: Path) -> None:
    store = TokenStore.in_root(tmp_path)
    store.create("a")
    store.create("b")
    hashes = [r.hash for r in store.records()]
    salts = [r.salt for r in store.records()]
    assert len(set(hashes)) == 2 and len(set(salts)) == 2


def test_enabled_once_one_exists_and_revoke_by_id_or_name(tmp_path: Path) -> None:
    store = TokenStore.in_root(tmp_path)
    assert not store.enabled()
    first, token = store.create("ci")
    second, _ = store.create("laptop")
    assert store.enabled()
    store.revoke(first.id)
    assert store.verify(token) is None
    store.revoke("laptop")
    assert not store.enabled() and second not in store.records()
    with pytest.raises(KeyError):
        store.revoke("nobody")
    with pytest.raises(ValueError):
        store.create("  ")


def test_another_process_writing_the_file_is_seen(tmp_path: Path) -> None:
    server_side = TokenStore.in_root(tmp_path)
    assert not server_side.enabled()
    _record, token = TokenStore.in_root(tmp_path).create("from the CLI")
    assert server_side.verify(token) is not None


def test_an_unreadable_store_fails_closed(tmp_path: Path) -> None:
    store = TokenStore.in_root(tmp_path)
    store.path.write_text("{broken")
    with pytest.raises(RuntimeError):
        store.enabled()
