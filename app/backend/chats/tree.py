"""Messages form a tree: edits and regenerations add siblings instead of overwriting.

The conversation shown (and sent to the model) is one path through the tree: start at the
selected root, then follow the selected child of each message. Pure functions over rows, so
the rules are testable without a database.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class PathStep:
    """One message on the active path, with its place among its alternatives."""

    row: Any
    alternatives: int
    index: int


def children_of(rows: Sequence[Any]) -> dict[int | None, list[Any]]:
    """Rows grouped by parent id, each group in creation (id) order."""
    children: dict[int | None, list[Any]] = {}
    for row in sorted(rows, key=lambda r: int(r["id"])):
        children.setdefault(row["parent_id"], []).append(row)
    return children


def _pick(siblings: list[Any]) -> int:
    """The selected sibling (the newest selected if several claim it; else the newest)."""
    for i in range(len(siblings) - 1, -1, -1):
        if siblings[i]["selected"]:
            return i
    return len(siblings) - 1


def active_path(rows: Sequence[Any]) -> list[PathStep]:
    """The messages shown, root first."""
    children = children_of(rows)
    path: list[PathStep] = []
    parent: int | None = None
    seen: set[int] = set()
    while parent in children or (parent is None and None in children):
        siblings = children.get(parent, [])
        if not siblings:
            break
        i = _pick(siblings)
        row = siblings[i]
        if int(row["id"]) in seen:  # a cycle can only come from a damaged file; stop there
            break
        seen.add(int(row["id"]))
        path.append(PathStep(row, len(siblings), i))
        parent = int(row["id"])
    return path


def leaf_id(rows: Sequence[Any]) -> int | None:
    """The last message of the active path (the parent of the next message)."""
    path = active_path(rows)
    return int(path[-1].row["id"]) if path else None
