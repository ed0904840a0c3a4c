"""Presets: named system prompts and sampling parameters, and a default preset per model."""

from __future__ import annotations

import json
import sqlite3
import time

from app.backend.chats.base import StoreBase, _json_dict, _sampling_from_json
from app.backend.chats.models import ConversationOptions, Preset
from app.backend.engine.types import SamplingParams


def _preset(row: sqlite3.Row) -> Preset:
    return Preset(
        id=int(row["id"]),
        name=row["name"],
        system_prompt=row["system_prompt"],
        sampling=_sampling_from_json(row["sampling_json"]),
        options=ConversationOptions.from_dict(_json_dict(row["options_json"])),
    )


class PresetsMixin(StoreBase):
    def list_presets(self) -> list[Preset]:
        rows = self._read("SELECT * FROM presets ORDER BY name COLLATE NOCASE")
        return [_preset(r) for r in rows]

    def get_preset(self, preset_id: int) -> Preset | None:
        rows = self._read("SELECT * FROM presets WHERE id = ?", (preset_id,))
        return _preset(rows[0]) if rows else None

    def save_preset(
        self,
        name: str,
        system_prompt: str,
        sampling: SamplingParams,
        options: ConversationOptions | None = None,
    ) -> Preset:
        """Create the preset, or overwrite the one with that name."""
        options = options or ConversationOptions()
        with self._write("save the preset") as conn:
            conn.execute(
                "INSERT INTO presets (name, system_prompt, sampling_json, options_json, updated_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT(name) DO UPDATE SET"
                " system_prompt = excluded.system_prompt, sampling_json = excluded.sampling_json,"
                " options_json = excluded.options_json, updated_at = excluded.updated_at",
                (
                    name,
                    system_prompt,
                    json.dumps(sampling.to_dict()),
                    json.dumps(options.to_dict()),
                    time.time(),
                ),
            )
            row = conn.execute("SELECT * FROM presets WHERE name = ?", (name,)).fetchone()
        return _preset(row)

    def delete_preset(self, preset_id: int) -> None:
        with self._write("delete the preset") as conn:
            conn.execute("DELETE FROM presets WHERE id = ?", (preset_id,))

    def set_model_default_preset(self, model_id: str, preset_id: int | None) -> None:
        """The preset new chats start from when ``model_id`` is loaded (None: no default)."""
        with self._write("save the default preset") as conn:
            if preset_id is None:
                conn.execute("DELETE FROM model_presets WHERE model_id = ?", (model_id,))
            else:
                conn.execute(
                    "INSERT INTO model_presets (model_id, preset_id) VALUES (?, ?)"
                    " ON CONFLICT(model_id) DO UPDATE SET preset_id = excluded.preset_id",
                    (model_id, preset_id),
                )

    def default_preset_for(self, model_id: str) -> Preset | None:
        rows = self._read(
            "SELECT p.* FROM presets p JOIN model_presets mp ON mp.preset_id = p.id"
            " WHERE mp.model_id = ?",
            (model_id,),
        )
        return _preset(rows[0]) if rows else None
