"""Completion-mode prompts for base models."""

from __future__ import annotations

from app.backend.templates import RenderedPrompt, render_completion_prompt


def test_transcript_with_system_prompt() -> None:
    prompt = render_completion_prompt(
        [
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "Hello!"},
            {"role": "user", "content": "Tell me a joke."},
        ],
        "A friendly assistant.",
    )
    assert prompt == RenderedPrompt(
        text=(
            "A friendly assistant.\n\n"
            "User: Hi\nAssistant: Hello!\nUser: Tell me a joke.\nAssistant:"
        ),
        starts_with_bos=False,
        stop=("\nUser:",),
    )


def test_transcript_without_system_prompt_and_system_messages_merge() -> None:
    prompt = render_completion_prompt(
        [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}], None
    )
    assert prompt.text == "Be brief.\n\nUser: Hi\nAssistant:"
    bare = render_completion_prompt([{"role": "user", "content": "Hi"}], "")
    assert bare.text == "User: Hi\nAssistant:"


def test_trailing_assistant_turn_is_continued() -> None:
    prompt = render_completion_prompt(
        [{"role": "user", "content": "Count"}, {"role": "assistant", "content": "1, 2,"}], None
    )
    assert prompt.text == "User: Count\nAssistant: 1, 2,"


def test_multimodal_parts_keep_their_text() -> None:
    prompt = render_completion_prompt(
        [{"role": "user", "content": [{"type": "text", "text": "Look"}, {"type": "image"}]}], None
    )
    assert prompt.text == "User: Look\nAssistant:"


def test_raw_style_is_plain_continuation() -> None:
    prompt = render_completion_prompt(
        [{"role": "user", "content": "Once upon a time"}], "ignored", style="raw"
    )
    assert prompt == RenderedPrompt(text="Once upon a time")
