"""SettingsStore: defaults, round trip, repairs, corrupt files, migrations, atomic saves."""

from __future__ import annotations

import json
import logging
import os
import re
import threading
from dataclasses import fields
from pathlib import Path

import pytest

from app.backend.engine.types import LoadParams, SamplingParams
from app.backend.paths import DataPaths
from app.backend.settings import (
    SETTINGS_VERSION,
    PerModelSettings,
    Settings,
    SettingsError,
    SettingsStore,
    describe,
)


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return DataPaths(tmp_path).settings_file


def _write(path: Path, data: object) -> None:
    path.write_text(json.dumps(data), encoding="utf-8")


def test_missing_file_gives_defaults(path: Path) -> None:
    store = SettingsStore(path)
    assert store.load() == Settings()
    assert store.last_warnings == []
    assert not path.exists()  # loading never writes


def test_round_trip(path: Path) -> None:
    store = SettingsStore(path)
    s = Settings()
    s.appearance.theme = "dark"
    s.appearance.font_size = 14
    s.models.extra_folders = ["/mnt/models", "D:\\gguf"]
    s.load_defaults = LoadParams(n_ctx=8192, n_gpu_layers=99, n_threads=None)
    s.sampling_defaults = SamplingParams(temperature=0.2, seed=7, stop=["</s>"])
    s.chat.send_with_enter = False
    s.window.geometry_b64 = "AdnQywADAAA="
    s.window.maximized = True
    s.per_model["org/model-Q4.gguf"] = PerModelSettings(
        load={"n_ctx": 2048}, template_mode="override", template_override="{{ messages }}"
    )
    store.save(s)
    loaded = store.load()
    assert loaded == s
    assert store.last_warnings == []
    assert json.loads(path.read_text())["version"] == SETTINGS_VERSION


def test_wrong_types_reset_only_that_field(path: Path, caplog: pytest.LogCaptureFixture) -> None:
    _write(
        path,
        {
            "version": SETTINGS_VERSION,
            "appearance": {"theme": "purple", "font_size": 13},
            "chat": {"send_with_enter": "yes", "show_generation_stats": False},
            "load_defaults": {"n_ctx": "big", "n_gpu_layers": 12, "n_threads": 4},
            "sampling_defaults": {"temperature": 1, "top_k": True, "stop": ["a", 3]},
            "models": {"extra_folders": "/not/a/list"},
            "window": [],
            "per_model": {"good": {"template_mode": "auto"}, "bad": 5},
        },
    )
    store = SettingsStore(path)
    with caplog.at_level(logging.WARNING):
        s = store.load()
    assert s.appearance.theme == "system" and s.appearance.font_size == 13
    assert s.chat.send_with_enter is True and s.chat.show_generation_stats is False
    assert s.load_defaults.n_ctx == 4096 and s.load_defaults.n_gpu_layers == 12
    assert s.load_defaults.n_threads == 4
    assert s.sampling_defaults.temperature == 1.0
    assert isinstance(s.sampling_defaults.temperature, float)
    assert s.sampling_defaults.top_k == 40  # a bool is not an int here
    assert s.sampling_defaults.stop == []
    assert s.models.extra_folders == []
    assert s.window == Settings().window
    assert list(s.per_model) == ["good"] and s.per_model["good"].template_mode == "auto"
    for key in ("appearance.theme", "chat.send_with_enter", "load_defaults.n_ctx", "per_model.bad"):
        assert any(key in w for w in store.last_warnings), key
        assert key in caplog.text


def test_out_of_range_number_reset(path: Path) -> None:
    _write(path, {"version": SETTINGS_VERSION, "appearance": {"font_size": 500}})
    assert SettingsStore(path).load().appearance.font_size == 11


def test_unknown_keys_ignored_with_warning(path: Path, caplog: pytest.LogCaptureFixture) -> None:
    _write(path, {"version": SETTINGS_VERSION, "telemetry": True, "chat": {"fancy": 1}})
    store = SettingsStore(path)
    with caplog.at_level(logging.WARNING):
        s = store.load()
    assert s == Settings()
    assert "telemetry" in caplog.text and "chat.fancy" in caplog.text
    store.save(s)
    assert "telemetry" not in path.read_text()


@pytest.mark.parametrize(
    "content",
    [b"{ not json", b"[1, 2, 3]", b"\xff\xfe garbage", b""],
    ids=["syntax", "not-object", "not-utf8", "empty"],
)
def test_corrupt_file_moved_aside(path: Path, content: bytes) -> None:
    path.write_bytes(content)
    store = SettingsStore(path)
    assert store.load() == Settings()
    [aside] = list(path.parent.glob("settings.json.corrupt-*"))
    assert aside.read_bytes() == content
    assert not path.exists()
    assert any("corrupt" in w for w in store.last_warnings)
    # A second corrupt file on the same second does not overwrite the first backup.
    path.write_bytes(content)
    store.load()
    assert len(list(path.parent.glob("settings.json.corrupt-*"))) == 2


def test_migration_v1_renames_enter_key(path: Path) -> None:
    _write(path, {"version": 1, "chat": {"enter_sends": False}, "appearance": {"theme": "dark"}})
    store = SettingsStore(path)
    s = store.load()
    assert s.chat.send_with_enter is False
    assert s.appearance.theme == "dark"
    assert s.version == SETTINGS_VERSION == 2
    assert store.last_warnings == []  # the old key is migrated, not reported as unknown
    store.save(s)
    on_disk = json.loads(path.read_text())
    assert on_disk["version"] == 2
    assert "enter_sends" not in on_disk["chat"] and on_disk["chat"]["send_with_enter"] is False


def test_file_without_version_is_v1(path: Path) -> None:
    _write(path, {"chat": {"enter_sends": False}})
    assert SettingsStore(path).load().chat.send_with_enter is False


def test_newer_file_is_kept_safe(path: Path) -> None:
    _write(path, {"version": 99, "appearance": {"theme": "light"}, "future": {"x": 1}})
    store = SettingsStore(path)
    s = store.load()
    assert s.appearance.theme == "light"
    [bak] = list(path.parent.glob("settings.json.bak-v99*"))
    assert json.loads(bak.read_text())["future"] == {"x": 1}


def test_save_is_atomic_and_leaves_no_temp(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = SettingsStore(path)
    store.save(Settings())
    before = path.read_bytes()

    def boom(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", boom)
    s = Settings()
    s.appearance.theme = "dark"
    with pytest.raises(SettingsError, match="No space left on device"):
        store.save(s)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert [p.name for p in path.parent.iterdir()] == ["settings.json"]


def test_update_is_serialized(path: Path) -> None:
    store = SettingsStore(path)

    def add(i: int) -> None:
        store.update(lambda s: s.models.extra_folders.append(f"/m/{i}"))

    threads = [threading.Thread(target=add, args=(i,)) for i in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(store.load().models.extra_folders) == sorted(f"/m/{i}" for i in range(10))

    def replace(s: Settings) -> Settings:
        return Settings(chat=s.chat)

    assert store.update(replace).models.extra_folders == []


def test_every_field_is_described() -> None:
    infos = describe()
    assert {i.path for i in infos} >= {
        "appearance.theme",
        "load_defaults.n_ctx",
        "sampling_defaults.temperature",
        "chat.send_with_enter",
        "window.geometry_b64",
        "per_model",
    }
    missing = [i.path for i in infos if not i.description]
    assert missing == []
    font = next(i for i in infos if i.path == "appearance.font_size")
    assert (font.default, font.minimum, font.maximum) == (11, 6, 48)


def test_no_secret_fields() -> None:
    """Tokens and keys belong in the keyring (app.backend.secrets), never in settings."""
    secretish = re.compile(r"(^|_)(token|key|password|secret|credential|api_?key)$")
    names = [d.path.rsplit(".", 1)[-1] for d in describe()]
    names += [f.name for f in fields(PerModelSettings)]
    assert [n for n in names if secretish.search(n)] == []
