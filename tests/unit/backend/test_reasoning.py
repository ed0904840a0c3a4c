from __future__ import annotations

import pytest

from app.backend.reasoning import format_duration, split_reasoning, strip_reasoning


@pytest.mark.parametrize(
    ("text", "reasoning", "answer"),
    [
        ("<think>plan it</think>\n\nHello", "plan it", "Hello"),
        ("<thinking>a</thinking>B", "a", "B"),
        ("[THINK]hmm[/THINK]Yes", "hmm", "Yes"),
        ("◁think▷k◁/think▷Ok", "k", "Ok"),
        ("opened by the template</think>Answer", "opened by the template", "Answer"),
        (
            "<|channel|>analysis<|message|>why<|end|><|start|>assistant"
            "<|channel|>final<|message|>Done",
            "why",
            "Done",
        ),
        ("No reasoning at all", "", "No reasoning at all"),
    ],
)
def test_split_markers(text: str, reasoning: str, answer: str) -> None:
    split = split_reasoning(text)
    assert split.reasoning == reasoning
    assert split.answer == answer
    assert not split.thinking


def test_open_block_is_still_thinking() -> None:
    split = split_reasoning("<think>still going")
    assert split.thinking and split.reasoning == "still going" and split.answer == ""


def test_strip_leaves_plain_replies_untouched() -> None:
    assert strip_reasoning("  a < b  ") == "  a < b  "
    assert strip_reasoning("<think>x</think>y") == "y"


def test_duration_wording() -> None:
    assert format_duration(3.21) == "3.2 seconds"
    assert format_duration(125) == "2 min 5 s"
