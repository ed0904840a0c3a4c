"""Fallback routing decisions, with scripted engines (the real ones: integration tests)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import pytest

from app.backend.engine.client import EngineNotReady, RequestHandle
from app.backend.engine.types import (
    EngineState,
    Event,
    Failed,
    Finished,
    GenerationRequest,
    GenerationStats,
    TokenChunk,
)
from app.backend.remote import ChatRequest, FallbackRouter, RouteDecision
from app.backend.settings.schema import FallbackRule
from app.backend.usage import UsageRecorder

REMOTE = "remote:lab/big"


class ScriptedEngine:
    """Delivers a script of events on a thread when a request is submitted."""

    def __init__(self, script: list[Event | float], state: EngineState = EngineState.READY):
        self.status = SimpleNamespace(state=state)
        self.script = script
        self.busy = 0
        self.submitted: list[object] = []
        self.cancelled: list[str] = []

    def in_flight(self) -> int:
        return self.busy

    def submit(self, request: object, on_event: Callable[[Event], None] | None = None):
        if self.status.state is not EngineState.READY:
            raise EngineNotReady("not loaded")
        self.submitted.append(request)
        handle = RequestHandle(f"s{len(self.submitted)}", self.cancelled.append, on_event)

        def play() -> None:
            for step in self.script:
                if isinstance(step, float):
                    time.sleep(step)
                    continue
                if handle.id in self.cancelled:
                    handle.deliver(Finished(handle.id, "cancelled", GenerationStats()))
                    return
                handle.deliver(step)

        threading.Thread(target=play, daemon=True).start()
        return handle


def _reply(text: str, prompt: int = 3) -> list[Event | float]:
    return [
        TokenChunk("", text, 1),
        Finished("", "eos", GenerationStats(prompt_tokens=prompt, completion_tokens=1)),
    ]


def _router(
    local: ScriptedEngine | None,
    remote: ScriptedEngine,
    rule: FallbackRule | None,
    usage: UsageRecorder | None = None,
) -> FallbackRouter:
    def remote_for(model_id: str) -> ScriptedEngine:
        assert model_id == REMOTE
        return remote

    return FallbackRouter(lambda _m: local, remote_for, lambda _m: rule, usage)


def _run(router: FallbackRouter, **kw) -> tuple[str, Event, list[RouteDecision], RequestHandle]:
    routes: list[RouteDecision] = []
    handle = router.submit("local/m/Q4", GenerationRequest("hi"), on_route=routes.append, **kw)
    text, final = handle.collect(timeout=10)
    return text, final, routes, handle


def test_without_a_rule_the_local_engine_answers() -> None:
    local = ScriptedEngine(_reply("local"))
    text, final, routes, handle = _run(_router(local, ScriptedEngine([]), None))
    assert text == "local" and isinstance(final, Finished)
    assert final.request_id == handle.id
    assert routes == [RouteDecision("local/m/Q4", "local")] and not routes[0].notice()
    with pytest.raises(EngineNotReady):
        _run(_router(None, ScriptedEngine([]), None))


def test_not_loaded_goes_to_the_remote_with_messages() -> None:
    remote = ScriptedEngine(_reply("remote"))
    router = _router(None, remote, FallbackRule(remote_model=REMOTE))
    msgs = [{"role": "user", "content": "hi"}]
    text, _final, routes, handle = _run(router, messages=msgs)
    assert text == "remote"
    assert routes[0].engine == "remote:lab" and routes[0].model_id == REMOTE
    assert "local/m/Q4 is not loaded" in routes[0].notice()
    assert handle.route == routes[0]  # type: ignore[attr-defined]
    assert isinstance(remote.submitted[0], ChatRequest) and remote.submitted[0].messages == msgs


def test_not_loaded_without_permission_raises() -> None:
    rule = FallbackRule(remote_model=REMOTE, on_not_loaded=False)
    with pytest.raises(EngineNotReady):
        _run(_router(ScriptedEngine([], EngineState.EMPTY), ScriptedEngine([]), rule))


def test_busy_local_engine_goes_remote_at_the_threshold() -> None:
    local = ScriptedEngine(_reply("local"))
    remote = ScriptedEngine(_reply("remote"))
    router = _router(local, remote, FallbackRule(remote_model=REMOTE, busy_in_flight=2))
    local.busy = 1
    assert _run(router)[0] == "local"
    local.busy = 2
    text, _f, routes, _h = _run(router)
    assert text == "remote" and "busy (2 requests running)" in routes[-1].reason


def test_failure_before_the_first_token_falls_back_and_is_accounted(tmp_path: Path) -> None:
    usage = UsageRecorder.open(tmp_path / "usage.db")
    local = ScriptedEngine([Failed("", "engine exited with code -9", True)])
    remote = ScriptedEngine(_reply("remote", prompt=5))
    router = _router(local, remote, FallbackRule(remote_model=REMOTE), usage)
    text, final, routes, _h = _run(router, source="api:ci")
    assert text == "remote" and isinstance(final, Finished)
    assert [r.engine for r in routes] == ["local", "remote:lab"]
    assert "the local engine failed: engine exited with code -9" in routes[-1].reason
    records = usage.store.records()
    assert [(r.model_id, r.engine, r.source, r.prompt_tokens) for r in records] == [
        (REMOTE, "remote:lab", "api:ci", 5)
    ]
    usage.close()


def test_failure_after_tokens_is_reported_not_rerouted() -> None:
    local = ScriptedEngine([TokenChunk("", "par", 1), Failed("", "crashed", True)])
    remote = ScriptedEngine(_reply("remote"))
    text, final, _routes, _h = _run(_router(local, remote, FallbackRule(remote_model=REMOTE)))
    assert text == "par" and isinstance(final, Failed) and final.engine_crashed
    assert remote.submitted == []


def test_first_token_timeout_cancels_local_and_switches() -> None:
    local = ScriptedEngine([1.0, *_reply("slow")])
    remote = ScriptedEngine(_reply("fast"))
    rule = FallbackRule(remote_model=REMOTE, first_token_timeout_s=0.1)
    text, final, routes, _h = _run(_router(local, remote, rule))
    assert text == "fast" and isinstance(final, Finished)
    assert "no token from the local engine within 0.1 s" in routes[-1].reason
    assert local.cancelled == ["s1"]


def test_cancel_reaches_the_engine_that_runs() -> None:
    remote = ScriptedEngine([0.3, *_reply("late")])
    router = _router(None, remote, FallbackRule(remote_model=REMOTE))
    handle = router.submit("local/m/Q4", GenerationRequest("hi"))
    handle.cancel()
    _text, final = handle.collect(timeout=10)
    assert isinstance(final, Finished) and final.stop_reason == "cancelled"
    assert remote.cancelled == ["s1"]


def test_under_local_only_no_rule_applies_so_a_busy_model_answers_itself(
    isolated_home: Path,
) -> None:
    """The chat's router and the API ask the core for rules: both ignore them under
    Local only (before, the chat sent a busy model's request to the forbidden remote
    and failed it while the API answered locally)."""
    from app.backend.core import HearthCore

    rule = FallbackRule(remote_model=REMOTE, on_not_loaded=True, busy_in_flight=1)
    core = HearthCore()
    core.settings_store.update(lambda s: s.fallback.__setitem__("local/m/Q4", rule))
    core.settings = core.settings_store.load()
    assert core.fallback_rule("local/m/Q4") == rule

    core.settings.privacy.local_only = True
    assert core.fallback_rule("local/m/Q4") is None
    local = ScriptedEngine(_reply("local"))
    local.busy = 5
    remote = ScriptedEngine(_reply("remote"))
    router = FallbackRouter(lambda _m: local, lambda _r: remote, core.fallback_rule, None)
    assert _run(router)[0] == "local"
    assert remote.submitted == []
