"""The chat's side of remote engines: which remote models the picker offers, what a remote
(or fallback) reply is sent, and where a reply goes.

A remote model applies its own chat template, so it gets OpenAI messages, never a prompt
rendered for a local model. Qt-free; runs on the bridge's threads.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from app.backend.privacy import LocalOnlyError
from app.backend.remote import Listing, RemoteModel, RemoteRegistry, is_remote_id
from app.backend.settings.schema import FallbackRule

#: "local": the loaded local model; "remote": a remote model chosen in the picker;
#: "fallback": a local model that is not loaded, answered by its fallback rule's remote model.
TargetKind = Literal["local", "remote", "fallback"]


@dataclass(frozen=True)
class RemoteChoices:
    """What the picker shows under "Remote": models, endpoints that gave no list, and
    whether Local only hides them all."""

    models: list[RemoteModel] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    local_only: bool = False


@dataclass(frozen=True)
class ReplyTarget:
    kind: TargetKind
    model_id: str  # the model the request is submitted for (the router may fall back)


def list_choices(
    registry: RemoteRegistry,
    local_only: bool,
    on_partial: Callable[[RemoteChoices], None] | None = None,
) -> RemoteChoices:
    """Ask every enabled endpoint for its models (network: never on the UI thread);
    ``on_partial`` hears each endpoint's answer before the slowest one is in."""
    if local_only:
        return RemoteChoices(local_only=True)

    def partial(listing: Listing) -> None:
        if on_partial is not None:
            on_partial(RemoteChoices(list(listing.models), dict(listing.errors)))

    try:
        listing = registry.list_all(partial)
    except LocalOnlyError:  # switched on while we were asking
        return RemoteChoices(local_only=True)
    return RemoteChoices(list(listing.models), dict(listing.errors))


def cached_choices(registry: RemoteRegistry, local_only: bool) -> RemoteChoices:
    """The last answer, for an instant picker (no network)."""
    if local_only:
        return RemoteChoices(local_only=True)
    listing = registry.cached()
    return RemoteChoices(list(listing.models), dict(listing.errors))


def choose_target(
    chat_model_id: str | None,
    local_ready: bool,
    picked_id: str | None,
    rules: Callable[[str], FallbackRule | None],
) -> ReplyTarget | None:
    """Where the next reply goes, or None when nothing can answer.

    ``chat_model_id`` is the chat's model (loaded, loading or remote); ``picked_id`` the local
    model shown in the picker; ``rules`` reads a local model's fallback rule.
    """
    if chat_model_id and is_remote_id(chat_model_id):
        return ReplyTarget("remote", chat_model_id)
    if local_ready and chat_model_id:
        return ReplyTarget("local", chat_model_id)
    candidate = picked_id or chat_model_id
    rule = rules(candidate) if candidate else None
    if candidate and rule is not None and rule.remote_model and rule.on_not_loaded:
        return ReplyTarget("fallback", candidate)
    return None


def openai_messages(system_prompt: str, history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The system prompt (if any) and the chat as OpenAI chat messages."""
    messages: list[dict[str, Any]] = []
    if system_prompt.strip():
        messages.append({"role": "system", "content": system_prompt})
    messages.extend({"role": m["role"], "content": m["content"]} for m in history)
    return messages
