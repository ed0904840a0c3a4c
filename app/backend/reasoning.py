"""Reasoning ("thinking") blocks in replies: found, measured and left out of the next prompt.

Models mark their reasoning in several ways: ``<think>…</think>`` (DeepSeek-R1, Qwen3, QwQ),
``<thinking>``, ``<reasoning>``, ``[THINK]…[/THINK]`` (Magistral), ``◁think▷…◁/think▷``
(Kimi), and gpt-oss's ``<|channel|>analysis<|message|>…<|end|>``. Some chat templates open the
block in the prompt, so a reply may hold only the closing marker: everything before it is
reasoning. A block still open (mid-stream) is reasoning up to the end of the text so far.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_PAIRS: tuple[tuple[str, str], ...] = (
    ("<think>", "</think>"),
    ("<thinking>", "</thinking>"),
    ("<reasoning>", "</reasoning>"),
    ("[THINK]", "[/THINK]"),
    ("◁think▷", "◁/think▷"),
    ("<|channel|>analysis<|message|>", "<|end|>"),
)
_GPT_OSS_FINAL = re.compile(r"<\|start\|>assistant|<\|channel\|>final<\|message\|>")


@dataclass(frozen=True)
class Split:
    """A reply cut into its reasoning and its answer."""

    reasoning: str
    answer: str
    #: True while a reasoning block is open (the model is still thinking).
    thinking: bool = False

    @property
    def has_reasoning(self) -> bool:
        return bool(self.reasoning.strip()) or self.thinking


def split_reasoning(text: str) -> Split:
    """Separate every reasoning block from the answer."""
    reasoning: list[str] = []
    answer: list[str] = []
    rest = text
    thinking = False
    # A closing marker before any opening one: the template opened the block in the prompt.
    first_open = min((i for o, _ in _PAIRS if (i := rest.find(o)) >= 0), default=-1)
    for _opening, closing in _PAIRS:
        at = rest.find(closing)
        if at >= 0 and (first_open < 0 or at < first_open):
            reasoning.append(rest[:at])
            rest = rest[at + len(closing) :]
            break
    while rest:
        found = [(rest.find(o), o, c) for o, c in _PAIRS if o in rest]
        if not found:
            answer.append(rest)
            break
        at, opening, closing = min(found)
        answer.append(rest[:at])
        body_start = at + len(opening)
        end = rest.find(closing, body_start)
        if end < 0:
            reasoning.append(rest[body_start:])
            thinking = True
            break
        reasoning.append(rest[body_start:end])
        rest = rest[end + len(closing) :]
    answer_text = _GPT_OSS_FINAL.sub("", "".join(answer)).replace("<|return|>", "")
    return Split(
        "\n\n".join(r.strip() for r in reasoning if r.strip()), answer_text.lstrip(), thinking
    )


def strip_reasoning(text: str) -> str:
    """The reply as the next turn's prompt should carry it: the answer only."""
    split = split_reasoning(text)
    return split.answer if split.has_reasoning else text


def format_duration(seconds: float) -> str:
    """'Thought for 3.2 seconds' style wording."""
    if seconds < 60:
        return f"{seconds:.1f} seconds"
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes} min {secs} s"
