"""Chat vs completion mode, and which template, for a model."""

from __future__ import annotations

from typing import Any

import pytest

from app.backend.templates import (
    FALLBACKS,
    TemplateOverride,
    choose_template,
    fallback_family_for,
    instruction_tuning_evidence,
)

STARTER_METADATA: dict[str, Any] = {
    "general.architecture": "gemma3",
    "general.name": "Gemma 3 270m",
    "general.basename": "gemma-3",
    "general.size_label": "270M",
}


def test_starter_base_model_gets_completion_mode() -> None:
    choice = choose_template(
        STARTER_METADATA, model_name="Gemma 3 270m", file_name="gemma-3-270m-q4_k_m.gguf"
    )
    assert choice.mode == "completion"
    assert choice.template is None
    assert choice.family is None
    assert choice.fallback_family == "gemma"
    assert choice.reason.startswith("Base model without a chat template: raw completion mode")
    assert "Gemma" in choice.reason


def test_instruction_tuned_gemma_gets_gemma_fallback() -> None:
    metadata = {**STARTER_METADATA, "general.name": "Gemma 3 270m It", "general.finetune": "it"}
    choice = choose_template(
        metadata, model_name="gemma-3-270m-it", file_name="gemma-3-270m-it-Q4_K_M.gguf"
    )
    assert (choice.mode, choice.source, choice.family) == ("chat", "fallback", "gemma")
    assert choice.template == FALLBACKS["gemma"].template
    assert choice.reason == (
        "No chat template in the file; using the Gemma fallback because the model name says "
        "it is instruction-tuned (it)."
    )


def test_template_in_file_wins() -> None:
    metadata = {**STARTER_METADATA, "tokenizer.chat_template": "{{ messages }}"}
    choice = choose_template(metadata, model_name="Gemma 3 270m")
    assert (choice.mode, choice.source, choice.template) == ("chat", "model", "{{ messages }}")
    assert choice.family is None
    assert choice.fallback_family == "gemma"


def test_blank_template_in_file_counts_as_none() -> None:
    metadata = {**STARTER_METADATA, "tokenizer.chat_template": "   "}
    assert choose_template(metadata, model_name="Gemma 3 270m").mode == "completion"


@pytest.mark.parametrize(
    ("metadata", "model_name", "file_name", "phrase"),
    [
        ({}, "Mistral-7B-Instruct-v0.2", "", "the model name says"),
        ({}, "llama", "llama-2-7b-chat.Q4_0.gguf", "the file name says"),
        ({}, "zephyr", "zephyr-7b-sft-full.gguf", "the file name says"),
        ({}, "tulu", "tulu-2-dpo-7b.gguf", "the file name says"),
        ({}, "hermes", "hermes-rlhf.gguf", "the file name says"),
        ({"general.finetune": "Instruct"}, "Foo 7B", "foo.gguf", "general.finetune"),
        ({"general.finetune": "chat"}, "Foo 7B", "foo.gguf", "general.finetune"),
        ({"general.tags": ["text-generation", "chat"]}, "Foo", "foo.gguf", "tags"),
    ],
)
def test_instruction_tuning_evidence(
    metadata: dict[str, Any], model_name: str, file_name: str, phrase: str
) -> None:
    evidence = instruction_tuning_evidence(metadata, model_name=model_name, file_name=file_name)
    assert evidence is not None
    assert phrase in evidence


@pytest.mark.parametrize(
    ("model_name", "file_name"),
    [
        ("Gemma 3 270m", "gemma-3-270m-q4_k_m.gguf"),
        ("Qwen2.5 0.5B", "qwen2.5-0.5b-q8_0.gguf"),
        ("Meta Llama 3 8B", "Meta-Llama-3-8B.Q4_K_M.gguf"),
        ("Mistral 7B v0.1", "mistral-7b-v0.1.Q4_K_M.gguf"),
        ("Phi 2", "phi-2.Q4_K_M.gguf"),
    ],
)
def test_base_models_are_not_mistaken_for_chat_models(model_name: str, file_name: str) -> None:
    assert instruction_tuning_evidence({}, model_name=model_name, file_name=file_name) is None


@pytest.mark.parametrize(
    ("arch", "model_name", "family"),
    [
        ("gemma", "Gemma 7B It", "gemma"),
        ("gemma2", "Gemma 2 2B It", "gemma"),
        ("gemma3", "Gemma 3 1B It", "gemma"),
        ("llama", "Meta Llama 3.1 8B Instruct", "llama3"),
        ("llama", "Llama-3.2-1B-Instruct", "llama3"),
        ("llama", "Mistral 7B Instruct v0.2", "mistral"),
        ("mistral3", "Ministral 8B Instruct", "mistral"),
        ("qwen2", "Qwen2.5 7B Instruct", "chatml"),
        ("qwen3", "Qwen3 4B Instruct", "chatml"),
        ("phi3", "Phi 3.5 Mini Instruct", "phi3"),
        ("llama", "TinyLlama 1.1B Chat", "chatml"),
        ("falcon", "Falcon 7B Instruct", "chatml"),
        ("", "", "chatml"),
    ],
)
def test_fallback_family_by_architecture_and_name(arch: str, model_name: str, family: str) -> None:
    metadata = {"general.architecture": arch} if arch else {}
    assert fallback_family_for(metadata, model_name=model_name) == family
    choice = choose_template(metadata, model_name=model_name + " chat")
    assert (choice.mode, choice.family) == ("chat", family)


def test_override_completion_mode_wins_over_model_template() -> None:
    metadata = {**STARTER_METADATA, "tokenizer.chat_template": "{{ messages }}"}
    choice = choose_template(
        metadata, model_name="Gemma", override=TemplateOverride(mode="completion")
    )
    assert (choice.mode, choice.source, choice.template) == ("completion", "user", None)


def test_override_switches_base_model_to_chat_with_one_click() -> None:
    choice = choose_template(
        STARTER_METADATA, model_name="Gemma 3 270m", override=TemplateOverride(mode="chat")
    )
    assert (choice.mode, choice.source, choice.family) == ("chat", "fallback", "gemma")
    assert choice.template == FALLBACKS["gemma"].template
    assert "You chose chat mode" in choice.reason


def test_override_with_edited_template() -> None:
    edited = "{% for m in messages %}<|im_start|>{{ m.content }}{% endfor %}"
    choice = choose_template(
        STARTER_METADATA, model_name="Gemma 3 270m", override=TemplateOverride(template=edited)
    )
    assert (choice.mode, choice.source, choice.template) == ("chat", "user", edited)
    assert choice.family == "chatml"


def test_override_chat_mode_keeps_model_template() -> None:
    metadata = {**STARTER_METADATA, "tokenizer.chat_template": "{{ messages }}"}
    choice = choose_template(metadata, model_name="G", override=TemplateOverride(mode="chat"))
    assert (choice.source, choice.template) == ("model", "{{ messages }}")


def test_empty_override_changes_nothing() -> None:
    choice = choose_template(
        STARTER_METADATA, model_name="Gemma 3 270m", override=TemplateOverride()
    )
    assert choice.mode == "completion"
