"""Chat templates for instruction-tuned models whose GGUF file carries none.

Each template reproduces the ``chat_template`` of the family's reference
``tokenizer_config.json`` on Hugging Face, so a model converted without its template
still sees exactly the prompt format it was tuned on. Tests pin each one against a
hand-written reference rendering.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "CHATML",
    "DEFAULT_FAMILY",
    "FALLBACKS",
    "GEMMA",
    "LLAMA3",
    "MISTRAL",
    "PHI3",
    "FallbackTemplate",
    "get_fallback",
]


@dataclass(frozen=True)
class FallbackTemplate:
    """A family's chat template plus the strings that end an assistant turn."""

    family: str
    display_name: str
    template: str
    #: Text that marks the end of the assistant's turn (extra stop strings for the engine).
    stop: tuple[str, ...]
    #: Where the template comes from, for the curious user.
    reference: str


# google/gemma-3-*-it. Gemma has no system role: the system prompt is prepended to the
# first user turn, separated by a blank line; the assistant role is called "model".
_GEMMA_TEMPLATE = """{{ bos_token }}
{%- if messages[0]['role'] == 'system' -%}
    {%- if messages[0]['content'] is string -%}
        {%- set first_user_prefix = messages[0]['content'] + '\n\n' -%}
    {%- else -%}
        {%- set first_user_prefix = messages[0]['content'][0]['text'] + '\n\n' -%}
    {%- endif -%}
    {%- set loop_messages = messages[1:] -%}
{%- else -%}
    {%- set first_user_prefix = "" -%}
    {%- set loop_messages = messages -%}
{%- endif -%}
{%- for message in loop_messages -%}
    {%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) -%}
        {{ raise_exception("Conversation roles must alternate user/assistant/user/assistant/...") }}
    {%- endif -%}
    {%- if (message['role'] == 'assistant') -%}
        {%- set role = "model" -%}
    {%- else -%}
        {%- set role = message['role'] -%}
    {%- endif -%}
    {{ '<start_of_turn>' + role + '\n' + (first_user_prefix if loop.first else "") }}
    {%- if message['content'] is string -%}
        {{ message['content'] | trim }}
    {%- elif message['content'] is iterable -%}
        {%- for item in message['content'] -%}
            {%- if item['type'] == 'image' -%}
                {{ '<start_of_image>' }}
            {%- elif item['type'] == 'text' -%}
                {{ item['text'] | trim }}
            {%- endif -%}
        {%- endfor -%}
    {%- else -%}
        {{ raise_exception("Invalid content type") }}
    {%- endif -%}
    {{ '<end_of_turn>\n' }}
{%- endfor -%}
{%- if add_generation_prompt -%}
    {{'<start_of_turn>model\n'}}
{%- endif -%}
"""

# meta-llama/Meta-Llama-3-8B-Instruct.
_LLAMA3_TEMPLATE = (
    "{% set loop_messages = messages %}{% for message in loop_messages %}"
    "{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'"
    "+ message['content'] | trim + '<|eot_id|>' %}"
    "{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}"
    "{{ content }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}"
    "{% endif %}"
)

# ChatML as used by Qwen2/2.5/3 and many fine-tunes (without Qwen's default system prompt,
# so it is also a neutral default for unknown families).
_CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)

# mistralai/Mistral-7B-Instruct-v0.1 / v0.2 (mistral-common "v1" tokenizer): the system
# prompt goes in front of the first user message; " [INST] ... [/INST]" with spaces.
_MISTRAL_TEMPLATE = """{%- if messages[0]['role'] == 'system' %}
    {%- set system_message = messages[0]['content'] %}
    {%- set loop_messages = messages[1:] %}
{%- else %}
    {%- set loop_messages = messages %}
{%- endif %}

{{- bos_token }}
{%- for message in loop_messages %}
    {%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}
        {{- raise_exception('After the optional system message, conversation roles must alternate user/assistant/user/assistant/...') }}
    {%- endif %}
    {%- if message['role'] == 'user' %}
        {%- if loop.first and system_message is defined %}
            {{- ' [INST] ' + system_message + '\\n\\n' + message['content'] + ' [/INST]' }}
        {%- else %}
            {{- ' [INST] ' + message['content'] + ' [/INST]' }}
        {%- endif %}
    {%- elif message['role'] == 'assistant' %}
        {{- ' ' + message['content'] + eos_token}}
    {%- else %}
        {{- raise_exception('Only user and assistant roles are supported, with the exception of an initial optional system message!') }}
    {%- endif %}
{%- endfor %}
"""  # noqa: E501

# microsoft/Phi-3.5-mini-instruct (Phi-3 family format with a system role).
_PHI3_TEMPLATE = (
    "{% for message in messages %}"
    "{% if message['role'] == 'system' and message['content'] %}"
    "{{'<|system|>\n' + message['content'] + '<|end|>\n'}}"
    "{% elif message['role'] == 'user' %}{{'<|user|>\n' + message['content'] + '<|end|>\n'}}"
    "{% elif message['role'] == 'assistant' %}"
    "{{'<|assistant|>\n' + message['content'] + '<|end|>\n'}}"
    "{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|assistant|>\n' }}{% else %}{{ eos_token }}{% endif %}"
)

GEMMA = FallbackTemplate(
    family="gemma",
    display_name="Gemma",
    template=_GEMMA_TEMPLATE,
    stop=("<end_of_turn>",),
    reference="google/gemma-3-1b-it tokenizer_config.json",
)
LLAMA3 = FallbackTemplate(
    family="llama3",
    display_name="Llama 3",
    template=_LLAMA3_TEMPLATE,
    stop=("<|eot_id|>",),
    reference="meta-llama/Meta-Llama-3-8B-Instruct tokenizer_config.json",
)
CHATML = FallbackTemplate(
    family="chatml",
    display_name="ChatML",
    template=_CHATML_TEMPLATE,
    stop=("<|im_end|>",),
    reference="ChatML as in Qwen/Qwen2-7B-Instruct (without its default system prompt)",
)
MISTRAL = FallbackTemplate(
    family="mistral",
    display_name="Mistral",
    template=_MISTRAL_TEMPLATE,
    stop=("</s>",),
    reference="mistralai/Mistral-7B-Instruct-v0.1 tokenizer_config.json",
)
PHI3 = FallbackTemplate(
    family="phi3",
    display_name="Phi-3",
    template=_PHI3_TEMPLATE,
    stop=("<|end|>",),
    reference="microsoft/Phi-3.5-mini-instruct tokenizer_config.json",
)

FALLBACKS: dict[str, FallbackTemplate] = {
    t.family: t for t in (GEMMA, LLAMA3, CHATML, MISTRAL, PHI3)
}
DEFAULT_FAMILY = "chatml"


def get_fallback(family: str) -> FallbackTemplate:
    """The fallback for ``family``; unknown families get ChatML, the most common format."""
    return FALLBACKS.get(family, FALLBACKS[DEFAULT_FAMILY])
