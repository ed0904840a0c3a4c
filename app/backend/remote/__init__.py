"""Remote OpenAI-compatible engines as model sources, and hybrid fallback (Qt-free)."""

from app.backend.remote.client import ChatRequest, RemoteEngine, RemoteError
from app.backend.remote.endpoints import (
    PREFIX,
    Listing,
    RemoteModel,
    RemoteRegistry,
    check_endpoint,
    engine_name,
    is_remote_id,
    parse_remote_id,
    remote_model_id,
    sends_key_in_clear,
)
from app.backend.remote.router import FallbackRouter, RouteDecision, RoutedHandle

__all__ = [
    "PREFIX",
    "ChatRequest",
    "FallbackRouter",
    "Listing",
    "RemoteEngine",
    "RemoteError",
    "RemoteModel",
    "RemoteRegistry",
    "RouteDecision",
    "RoutedHandle",
    "check_endpoint",
    "engine_name",
    "is_remote_id",
    "parse_remote_id",
    "remote_model_id",
    "sends_key_in_clear",
]
