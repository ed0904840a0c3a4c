"""The Settings page: generated from the schema, saves off the UI thread, survives bad files."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QCheckBox, QComboBox, QDoubleSpinBox, QLabel, QSpinBox

from app.backend.settings import Settings, SettingsError, SettingsStore
from app.ui.pages.settings import FolderList, SettingsPage, editable_fields


@pytest.fixture
def store(isolated_home: Path) -> SettingsStore:
    isolated_home.mkdir(parents=True, exist_ok=True)
    return SettingsStore(isolated_home / "settings.json")


@pytest.fixture
def make_page(qtbot, store: SettingsStore, isolated_home: Path) -> Iterator:
    pages: list[SettingsPage] = []

    def make() -> SettingsPage:
        settings = store.load()
        page = SettingsPage(store, settings, isolated_home, store.last_warnings)
        qtbot.addWidget(page)
        pages.append(page)
        return page

    yield make
    for page in pages:
        page.shutdown()
        page.deleteLater()  # closed-but-alive widgets would slow later theme switches


def _save(qtbot, page: SettingsPage) -> Settings:
    assert page.save_button.isEnabled()
    with qtbot.waitSignal(page.saved, timeout=2000) as blocker:
        page.save_button.click()
    settings = blocker.args[0]
    assert isinstance(settings, Settings)
    return settings


def _file(store: SettingsStore) -> dict:
    return json.loads(store.path.read_text())


def test_every_editable_setting_has_a_widget_and_help_text(make_page) -> None:
    page = make_page()
    fields = editable_fields()
    assert {f.path for f in fields} == set(page.editors)
    assert "appearance.theme" in page.editors and "window.geometry_b64" not in page.editors
    helps = {label.text() for label in page.findChildren(QLabel) if label.objectName() == "help"}
    for info in fields:
        assert any(info.description in text for text in helps), info.path
    kinds = {path: type(editor.widget) for path, editor in page.editors.items()}
    assert kinds["appearance.theme"] is QComboBox
    assert kinds["appearance.font_size"] is QSpinBox
    assert kinds["chat.send_with_enter"] is QCheckBox
    assert kinds["sampling_defaults.temperature"] is QDoubleSpinBox
    assert kinds["models.extra_folders"] is FolderList
    font = page.editors["appearance.font_size"].widget
    assert isinstance(font, QSpinBox) and (font.minimum(), font.maximum()) == (6, 48)


def test_a_change_round_trips_to_settings_json_and_keeps_the_window_state(
    qtbot, make_page, store: SettingsStore, tmp_path: Path
) -> None:
    store.update(lambda s: setattr(s.window, "geometry_b64", "KEEP"))
    page = make_page()
    assert not page.save_button.isEnabled()  # nothing to save yet
    page.editors["appearance.theme"].set("dark")
    page.editors["appearance.font_size"].set(14)
    page.editors["chat.send_with_enter"].set(False)
    page.editors["load_defaults.n_threads"].set(6)
    page.editors["sampling_defaults.stop"].set(["###", "\nUser:"])
    folders = page.editors["models.extra_folders"].widget
    assert isinstance(folders, FolderList)
    folders.add_folder(str(tmp_path))
    folders.add_folder(str(tmp_path))  # duplicates are ignored
    assert page.status.text() == "Unsaved changes."

    saved = _save(qtbot, page)

    data = _file(store)
    assert data["appearance"] == {"theme": "dark", "font_size": 14}
    assert data["chat"]["send_with_enter"] is False
    assert data["load_defaults"]["n_threads"] == 6
    assert data["sampling_defaults"]["stop"] == ["###", "\nUser:"]
    assert data["models"]["extra_folders"] == [str(tmp_path)]
    assert data["window"]["geometry_b64"] == "KEEP"
    assert saved.appearance.theme == "dark"
    assert page.status.text() == "Saved." and not page.save_button.isEnabled()
    assert store.load().appearance.font_size == 14


def test_optional_numbers_go_back_to_automatic(qtbot, make_page, store: SettingsStore) -> None:
    store.update(lambda s: setattr(s.load_defaults, "n_threads", 8))
    page = make_page()
    spin = page.editors["load_defaults.n_threads"].widget
    assert isinstance(spin, QSpinBox)
    assert page.editors["load_defaults.n_threads"].get() == 8
    spin.setValue(spin.minimum())
    assert spin.text() == "Automatic"
    _save(qtbot, page)
    assert _file(store)["load_defaults"]["n_threads"] is None


def test_saving_runs_off_the_ui_thread(qtbot, make_page, store: SettingsStore) -> None:
    page = make_page()
    threads: list[int] = []
    real_save = store.save

    def spy(settings: Settings) -> None:
        threads.append(threading.get_ident())
        real_save(settings)

    store.save = spy  # type: ignore[method-assign]
    page.editors["chat.show_generation_stats"].set(False)
    _save(qtbot, page)
    assert threads and threads[0] != threading.get_ident()


def test_a_corrupt_file_with_bad_values_still_opens_and_says_what_was_reset(
    qtbot, make_page, store: SettingsStore
) -> None:
    store.path.write_text(
        json.dumps(
            {
                "version": 2,
                "appearance": {"theme": "neon", "font_size": 999},
                "sampling_defaults": {"temperature": "hot", "top_k": 20},
            }
        )
    )
    page = make_page()
    assert page.editors["appearance.theme"].get() == "system"
    assert page.editors["appearance.font_size"].get() == 11
    assert page.editors["sampling_defaults.temperature"].get() == pytest.approx(0.8)
    assert page.editors["sampling_defaults.top_k"].get() == 20  # good values are kept
    assert not page.notice.isHidden()
    assert "appearance.theme" in page.notice.text()
    page.editors["appearance.theme"].set("light")
    _save(qtbot, page)
    fresh = SettingsStore(store.path)
    assert fresh.load().appearance.theme == "light"
    assert fresh.last_warnings == []  # the file is clean again
    assert page.notice.isHidden()


def test_a_failed_save_keeps_the_edits_and_says_why(qtbot, make_page, store: SettingsStore) -> None:
    page = make_page()

    def full_disk(_settings: Settings) -> None:
        raise SettingsError("Could not save settings: No space left on device.")

    store.save = full_disk  # type: ignore[method-assign]
    page.editors["appearance.font_size"].set(15)
    page.save_button.click()
    qtbot.waitUntil(lambda: not page.notice.isHidden(), timeout=2000)
    assert "No space left" in page.notice.text()
    assert page.editors["appearance.font_size"].get() == 15
    assert page.save_button.isEnabled()  # try again later
    assert not store.path.exists()


def test_revert_restores_the_saved_values_and_theme(qtbot, make_page) -> None:
    page = make_page()
    previews: list[str] = []
    page.theme_preview.connect(previews.append)
    page.editors["sampling_defaults.max_tokens"].set(2048)
    page.editors["appearance.theme"].set("dark")
    assert previews == ["dark"]  # previewed live, before any save
    assert page.revert_button.isEnabled()
    page.revert_button.click()
    assert page.editors["sampling_defaults.max_tokens"].get() == 512
    assert page.editors["appearance.theme"].get() == "system"
    assert previews == ["dark", "system"]
    assert not page.save_button.isEnabled()


def test_folder_list_adds_and_removes(qtbot, tmp_path: Path) -> None:
    folders = FolderList()
    qtbot.addWidget(folders)
    missing = str(tmp_path / "nope")
    with qtbot.waitSignal(folders.changed):
        folders.add_folder(missing)
    assert folders.folders() == [missing]
    assert "does not exist" in folders.list.item(0).toolTip()
    assert not folders.remove_button.isEnabled()
    folders.list.setCurrentRow(0)
    folders.remove_button.click()
    assert folders.folders() == []


def test_data_root_is_shown_read_only(make_page, isolated_home: Path) -> None:
    page = make_page()
    assert page.data_root.isReadOnly()
    assert page.data_root.text() == str(isolated_home)
