"""The loaded models: one supervised engine per model, shared by chat, API and CLI.

Loads are single-flight (concurrent first requests for a model cause one load), planned by
the memory planner, and a model unused for a while can be unloaded to return its memory.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path

from app.backend.engine.client import EngineClient, EngineLoadError, EngineStatus
from app.backend.engine.load_planning import plan_load
from app.backend.engine.types import EngineState, LoadParams
from app.backend.gguf import GGUFError
from app.backend.hardware import HardwareInfo, detect_hardware
from app.backend.library import LocalModel
from app.backend.planner import Plan

StatusListener = Callable[[str, EngineStatus], None]


@dataclass
class LoadedModel:
    model: LocalModel
    client: EngineClient
    params: LoadParams
    plan: Plan | None
    last_used: float


class EngineManager:
    def __init__(
        self,
        log_dir: Path,
        defaults: Callable[[LocalModel], tuple[LoadParams, dict | None]],
        hardware: Callable[[], HardwareInfo] | None = None,
    ) -> None:
        """``defaults(model)`` gives the app defaults and the model's remembered overrides."""
        self._log_dir = log_dir
        self._defaults = defaults
        self._hardware = hardware or (lambda: detect_hardware())
        self._lock = threading.Lock()
        self._loaded: dict[str, LoadedModel] = {}
        self._loading: dict[str, Future[LoadedModel]] = {}
        self._loading_clients: dict[str, EngineClient] = {}
        self._listeners: list[StatusListener] = []

    # --------------------------------------------------------------- listeners
    def add_listener(self, listener: StatusListener) -> None:
        """``listener(model_id, status)`` on every state change of any engine (any thread)."""
        self._listeners.append(listener)

    def _emit(self, model_id: str, status: EngineStatus) -> None:
        for listener in list(self._listeners):
            listener(model_id, status)

    # --------------------------------------------------------------- planning
    def plan(self, model: LocalModel, overrides: dict | None = None) -> tuple[LoadParams, Plan]:
        """What a load of ``model`` would use now, given the models already loaded."""
        defaults, remembered = self._defaults(model)
        merged = {**(remembered or {}), **(overrides or {})}
        with self._lock:
            others = [m for mid, m in self._loaded.items() if mid != model.id]
        reserved_ram = sum(m.plan.memory.cpu_bytes for m in others if m.plan is not None)
        return plan_load(model.path, defaults, merged, self._hardware(), reserved_ram)

    # ---------------------------------------------------------------- loading
    def load(
        self,
        model: LocalModel,
        params: LoadParams | None = None,
        on_progress: Callable[[float], None] | None = None,
    ) -> EngineClient:
        """Return a ready engine for ``model``, loading it if needed (blocks; one load only).

        Passing ``params`` reloads the model with them if it was loaded differently.
        """
        with self._lock:
            loaded = self._loaded.get(model.id)
            reusable = loaded is not None and loaded.client.status.state is EngineState.READY
            if loaded is not None and reusable and (params is None or params == loaded.params):
                loaded.last_used = time.monotonic()
                return loaded.client
            future = self._loading.get(model.id)
            owner = future is None
            if owner:
                future = Future()
                self._loading[model.id] = future
        assert future is not None
        if not owner:
            return future.result().client
        try:
            result = self._load_now(model, params, on_progress)
        except BaseException as exc:
            future.set_exception(exc)
            raise
        else:
            future.set_result(result)
            return result.client
        finally:
            with self._lock:
                self._loading.pop(model.id, None)

    def _load_now(
        self,
        model: LocalModel,
        params: LoadParams | None,
        on_progress: Callable[[float], None] | None,
    ) -> LoadedModel:
        self.unload(model.id)
        plan: Plan | None = None
        if params is None:
            try:
                params, plan = self.plan(model)
            except GGUFError as exc:
                raise EngineLoadError(str(exc)) from exc
        client = EngineClient(self._log_dir, log_name=f"engine-{_slug(model.id)}.log")
        loaded = LoadedModel(model, client, params, plan, time.monotonic())
        client.add_listener(lambda status: self._on_status(model.id, client, status, loaded))
        with self._lock:
            self._loading_clients[model.id] = client
        try:
            client.load(model.path, params, on_progress)
        finally:
            with self._lock:
                self._loading_clients.pop(model.id, None)
        return loaded

    def _on_status(
        self, model_id: str, client: EngineClient, status: EngineStatus, loaded: LoadedModel
    ) -> None:
        if status.state is EngineState.READY:
            # Registered before anyone hears READY: a listener that asks ``get`` at once
            # (the chat, on its "ready" signal) must find the engine.
            with self._lock:
                if self._loading_clients.get(model_id) is client:
                    loaded.last_used = time.monotonic()
                    self._loaded[model_id] = loaded
        elif status.state is EngineState.ERROR:
            with self._lock:
                current = self._loaded.get(model_id)
                if current is not None and current.client is client:
                    del self._loaded[model_id]  # crashed: the next request loads it again
        self._emit(model_id, status)

    def cancel_load(self, model_id: str) -> None:
        """Abandon a load in progress; its ``load`` call raises ``EngineLoadError``."""
        with self._lock:
            client = self._loading_clients.get(model_id)
        if client is not None:
            client.cancel_load()

    # ------------------------------------------------------------------ queries
    def get(self, model_id: str) -> EngineClient | None:
        with self._lock:
            loaded = self._loaded.get(model_id)
        if loaded is None or loaded.client.status.state is not EngineState.READY:
            return None
        loaded.last_used = time.monotonic()
        return loaded.client

    def loaded(self) -> list[LoadedModel]:
        with self._lock:
            return list(self._loaded.values())

    def touch(self, model_id: str) -> None:
        with self._lock:
            loaded = self._loaded.get(model_id)
            if loaded is not None:
                loaded.last_used = time.monotonic()

    # ---------------------------------------------------------------- unloading
    def unload(self, model_id: str) -> bool:
        with self._lock:
            loaded = self._loaded.pop(model_id, None)
        if loaded is None:
            return False
        loaded.client.unload()
        return True

    def unload_idle(self, max_idle_s: float) -> list[str]:
        """Unload models idle for longer than ``max_idle_s`` with nothing in flight."""
        now = time.monotonic()
        with self._lock:
            idle = [
                mid
                for mid, m in self._loaded.items()
                if now - m.last_used > max_idle_s and m.client.in_flight() == 0
            ]
        for model_id in idle:
            self.unload(model_id)
        return idle

    def close(self) -> None:
        for model_id in [m.model.id for m in self.loaded()]:
            self.unload(model_id)


def _slug(model_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", model_id)[:80]
