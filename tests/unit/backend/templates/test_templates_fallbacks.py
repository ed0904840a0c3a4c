"""Each fallback template must reproduce its family's reference rendering exactly."""

from __future__ import annotations

import pytest

from app.backend.templates import FALLBACKS, ChatTemplate, TemplateError, get_fallback

CONVERSATION = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "Hi!"},
    {"role": "assistant", "content": "Hello."},
    {"role": "user", "content": "What is 2+2?"},
]

# Hand-written from each family's reference tokenizer_config.json rendering
# (system + user + assistant + user, add_generation_prompt=True).
EXPECTED = {
    "gemma": (
        "<bos>",
        "<eos>",
        "<bos><start_of_turn>user\nYou are terse.\n\nHi!<end_of_turn>\n"
        "<start_of_turn>model\nHello.<end_of_turn>\n"
        "<start_of_turn>user\nWhat is 2+2?<end_of_turn>\n"
        "<start_of_turn>model\n",
    ),
    "llama3": (
        "<|begin_of_text|>",
        "<|eot_id|>",
        "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are terse.<|eot_id|>"
        "<|start_header_id|>user<|end_header_id|>\n\nHi!<|eot_id|>"
        "<|start_header_id|>assistant<|end_header_id|>\n\nHello.<|eot_id|>"
        "<|start_header_id|>user<|end_header_id|>\n\nWhat is 2+2?<|eot_id|>"
        "<|start_header_id|>assistant<|end_header_id|>\n\n",
    ),
    "chatml": (
        "",
        "<|im_end|>",
        "<|im_start|>system\nYou are terse.<|im_end|>\n"
        "<|im_start|>user\nHi!<|im_end|>\n"
        "<|im_start|>assistant\nHello.<|im_end|>\n"
        "<|im_start|>user\nWhat is 2+2?<|im_end|>\n"
        "<|im_start|>assistant\n",
    ),
    "mistral": (
        "<s>",
        "</s>",
        "<s> [INST] You are terse.\n\nHi! [/INST] Hello.</s> [INST] What is 2+2? [/INST]",
    ),
    "phi3": (
        "<s>",
        "<|endoftext|>",
        "<|system|>\nYou are terse.<|end|>\n"
        "<|user|>\nHi!<|end|>\n"
        "<|assistant|>\nHello.<|end|>\n"
        "<|user|>\nWhat is 2+2?<|end|>\n"
        "<|assistant|>\n",
    ),
}


def test_every_family_has_an_expected_rendering() -> None:
    assert set(EXPECTED) == set(FALLBACKS)


@pytest.mark.parametrize("family", sorted(EXPECTED))
def test_fallback_matches_reference_rendering(family: str) -> None:
    bos, eos, expected = EXPECTED[family]
    fallback = FALLBACKS[family]
    rendered = ChatTemplate(fallback.template, name=fallback.display_name).render(
        CONVERSATION, bos_token=bos, eos_token=eos, add_generation_prompt=True
    )
    assert rendered.text == expected
    assert rendered.starts_with_bos == (bos != "" and expected.startswith(bos))


@pytest.mark.parametrize("family", sorted(EXPECTED))
def test_fallback_stop_string_ends_assistant_turns(family: str) -> None:
    _bos, _eos, expected = EXPECTED[family]
    assert "Hello." + FALLBACKS[family].stop[0] in expected


def test_gemma_without_system_prompt() -> None:
    rendered = ChatTemplate(FALLBACKS["gemma"].template, name="Gemma").render(
        [{"role": "user", "content": "  Hi  "}], bos_token="<bos>"
    )
    assert rendered.text == "<bos><start_of_turn>user\nHi<end_of_turn>\n<start_of_turn>model\n"
    assert rendered.starts_with_bos


def test_gemma_rejects_non_alternating_roles_naming_the_template() -> None:
    template = ChatTemplate(FALLBACKS["gemma"].template, name="Gemma 3 270m It")
    with pytest.raises(TemplateError, match=r"Gemma 3 270m It.*alternate"):
        template.render([{"role": "user", "content": "a"}, {"role": "user", "content": "b"}])


def test_without_generation_prompt() -> None:
    llama = ChatTemplate(FALLBACKS["llama3"].template, name="Llama").render(
        [{"role": "user", "content": "Hi"}],
        bos_token="<|begin_of_text|>",
        add_generation_prompt=False,
    )
    assert llama.text == "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
    phi = ChatTemplate(FALLBACKS["phi3"].template, name="Phi").render(
        [{"role": "user", "content": "Hi"}], eos_token="<|endoftext|>", add_generation_prompt=False
    )
    assert phi.text == "<|user|>\nHi<|end|>\n<|endoftext|>"


def test_unknown_family_falls_back_to_chatml() -> None:
    assert get_fallback("no-such-family").family == "chatml"


def test_bos_is_reported_only_when_the_text_starts_with_it() -> None:
    chatml = ChatTemplate(FALLBACKS["chatml"].template, name="Qwen").render(
        [{"role": "user", "content": "x"}], bos_token="<|endoftext|>"
    )
    assert not chatml.starts_with_bos
