from __future__ import annotations

from typing import Any

from app.backend.context_policy import fit_messages, reply_reserve


def _chat(n: int) -> list[dict[str, Any]]:
    return [{"role": "user" if i % 2 == 0 else "assistant", "content": f"m{i}"} for i in range(n)]


def _count(messages: list[dict[str, Any]]) -> int:
    return 10 + 5 * len(messages)  # a system prompt of 10, 5 per message


def test_everything_fits() -> None:
    fit = fit_messages(_chat(4), _count, 100, "stop")
    assert len(fit.messages) == 4 and not fit.overflow and fit.tokens == 30


def test_stop_sends_nothing() -> None:
    fit = fit_messages(_chat(20), _count, 50, "stop")
    assert fit.overflow and fit.messages == []


def test_rolling_window_keeps_the_latest_starting_at_a_user_message() -> None:
    fit = fit_messages(_chat(20), _count, 50, "rolling_window")
    assert [m["content"] for m in fit.messages] == [
        "m12",
        "m13",
        "m14",
        "m15",
        "m16",
        "m17",
        "m18",
        "m19",
    ][-len(fit.messages) :]
    assert fit.messages[0]["role"] == "user"
    assert fit.tokens <= 50 and fit.dropped == 20 - len(fit.messages)


def test_truncate_middle_keeps_the_first_message_and_the_latest() -> None:
    fit = fit_messages(_chat(20), _count, 50, "truncate_middle")
    contents = [m["content"] for m in fit.messages]
    assert contents[0] == "m0" and contents[-1] == "m19"
    assert "m5" not in contents and fit.tokens <= 50


def test_a_message_too_long_alone_overflows() -> None:
    fit = fit_messages(_chat(3), lambda m: 1000, 50, "rolling_window")
    assert fit.overflow


def test_reserve() -> None:
    assert reply_reserve(4096, 512) == 512
    assert reply_reserve(1024, 100_000) == 256
