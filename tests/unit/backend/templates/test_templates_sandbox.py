"""The chat-template sandbox: HF-compatible rendering, and hostile templates refused fast."""

from __future__ import annotations

import json
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from app.backend.templates import (
    ChatTemplate,
    SandboxLimits,
    TemplateError,
    TemplateRefusedError,
    render_chat,
)
from app.backend.templates import render as render_module

NAME = "Tiny Llama"


def render(source: str, messages: list[dict[str, Any]] | None = None, **kwargs: Any) -> str:
    return render_chat(source, messages or [], template_name=NAME, **kwargs)


# --------------------------------------------------------------------------- compatibility


def test_basic_variables_and_trim_blocks() -> None:
    source = (
        "{{ bos_token }}{% for m in messages %}\n"
        "  {% if m.role == 'user' %}\n[U]{{ m.content }}\n  {% endif %}\n"
        "{% endfor %}\n"
        "{% if add_generation_prompt %}[A]{% endif %}{{ eos_token }}"
    )
    text = render(source, [{"role": "user", "content": "hi"}], bos_token="<s>", eos_token="</s>")
    assert text == "<s>[U]hi\n[A]</s>"


def test_tojson_matches_hf() -> None:
    value = {"b": "é<&>", "a": [1, 2]}
    assert render("{{ x | tojson }}", x=value) == json.dumps(value, ensure_ascii=False)
    assert render("{{ x | tojson(indent=2) }}", x=value) == json.dumps(
        value, ensure_ascii=False, indent=2
    )
    assert render("{{ x | tojson(sort_keys=true) }}", x=value).startswith('{"a"')
    assert render("{{ x | tojson(ensure_ascii=true) }}", x={"k": "é"}) == '{"k": "\\u00e9"}'


def test_globals_raise_exception_and_strftime_now() -> None:
    year = str(datetime.now().year)
    assert render("{{ strftime_now('%Y') }}") == year
    with pytest.raises(TemplateError, match="'Tiny Llama' rejected the conversation: no system"):
        render("{{ raise_exception('no system') }}")


def test_loopcontrols_and_namespace() -> None:
    source = (
        "{% set ns = namespace(n=0) %}{% for i in range(10) %}"
        "{% if i == 2 %}{% continue %}{% endif %}{% if i > 4 %}{% break %}{% endif %}"
        "{% set ns.n = ns.n + i %}{{ i }}{% endfor %}|{{ ns.n }}"
    )
    assert render(source) == "0134|8"


def test_generation_tag_is_accepted() -> None:
    source = "{% for m in messages %}{% generation %}{{ m.content }}{% endgeneration %}{% endfor %}"
    assert render(source, [{"role": "assistant", "content": "ok"}]) == "ok"


def test_passthrough_kwargs_tools_and_documents() -> None:
    source = (
        "{% if enable_thinking is defined and not enable_thinking %}/no_think{% endif %}"
        "{% for t in tools %}[{{ t.function.name }}]{% endfor %}"
        "{% for d in documents %}({{ d.title }}){% endfor %}"
        "{% for m in messages %}{% for c in m.tool_calls %}"
        "{{ c.function.name }}{{ c.function.arguments | tojson }}{% endfor %}{% endfor %}"
    )
    text = render(
        source,
        [
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [{"function": {"name": "f", "arguments": {"x": 1}}}],
            }
        ],
        tools=[{"type": "function", "function": {"name": "get_time"}}],
        documents=[{"title": "Doc"}],
        enable_thinking=False,
    )
    assert text == '/no_think[get_time](Doc)f{"x": 1}'


def test_string_methods_and_underscore_keys_in_dicts_work() -> None:
    source = "{{ m.content.strip().upper() }}|{{ m['_meta'] }}|{{ 'a,b'.split(',') | join('+') }}"
    assert render(source, m={"content": " hi ", "_meta": "x"}) == "HI|x|a+b"


def test_format_with_plain_fields_works() -> None:
    assert render("{{ '{} and {x}'.format(1, x=2) }}|{{ '%s-%d' | format('a', 3) }}") == (
        "1 and 2|a-3"
    )


def test_large_numbers_as_plain_data_are_fine() -> None:
    source = "{{ '%d' | format(ts) }} {{ '{}'.format(ts) }} {{ '%d' % ts }} {{ ts | string }}"
    assert render(source, ts=1_700_000_000) == " ".join(["1700000000"] * 4)


def test_undefined_is_lenient_like_hf() -> None:
    assert render("[{{ nothing }}]{% if nothing is defined %}x{% endif %}") == "[]"


def test_guarded_loops_keep_jinja_loop_semantics() -> None:
    source = (
        "{% for m in messages %}{{ loop.index }}/{{ loop.length }}"
        "{{ 'L' if loop.last }}{{ loop.previtem is defined }} {% endfor %}"
        "|{% for x in [] %}a{% else %}empty{% endfor %}"
        "|{% for x in [1, 2, 3, 4] if x is even %}{{ x }}{% endfor %}"
        "|{% for k, v in {'a': 1}.items() %}{{ k }}={{ v }}{% endfor %}"
        "|{% for n in tree recursive %}{{ n.name }}{% if n.kids %}({{ loop(n.kids) }})"
        "{% endif %}{% endfor %}"
    )
    tree = [{"name": "a", "kids": [{"name": "b", "kids": []}]}]
    text = render(source, [{"a": 1}, {"a": 2}], tree=tree)
    assert text == "1/2False 2/2LTrue |empty|24|a=1|a(b)"


def test_guarded_operators_keep_their_results() -> None:
    source = (
        "{{ 3 * 4 }} {{ 2 ** 10 }} {{ 'ab' * 2 }} {{ [1] + [2] }} {{ '%05.1f' % 3.14159 }}"
        " {{ 7 % 3 }} {{ 'x' ~ 1 ~ none }}"
    )
    assert render(source) == "12 1024 abab [1, 2] 003.1 1 x1None"


def test_chat_template_compiles_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    original = render_module.compile_template

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(render_module, "compile_template", counting)
    template = ChatTemplate("{% for m in messages %}{{ m.content }}{% endfor %}", name=NAME)
    for i in range(5):
        assert template.render([{"role": "user", "content": str(i)}]).text == str(i)
    assert len(calls) == 1


def test_concurrent_renders_are_independent() -> None:
    template = ChatTemplate("{% for m in messages %}{{ m.content }}{% endfor %}", name=NAME)
    results: dict[int, str] = {}

    def work(i: int) -> None:
        results[i] = template.render([{"role": "user", "content": str(i)}] * 50).text

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == {i: str(i) * 50 for i in range(8)}


def test_syntax_error_names_the_template() -> None:
    with pytest.raises(
        TemplateError, match=r"The chat template of 'Tiny Llama' has a syntax error"
    ):
        ChatTemplate("{% for m in messages %}{{ m.content }", name=NAME)


def test_runtime_error_names_the_template() -> None:
    with pytest.raises(TemplateError, match="'Tiny Llama' failed"):
        render("{{ messages[0].content }}")


def test_non_string_template_is_an_error() -> None:
    with pytest.raises(TemplateError, match="Tiny Llama"):
        ChatTemplate(123, name=NAME)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- hostile templates

HOSTILE = {
    "subclasses": "{{ ().__class__.__base__.__subclasses__() }}",
    "subclasses_via_str": (
        "{% for c in ''.__class__.__mro__[1].__subclasses__() %}{{ c }}{% endfor %}"
    ),
    "attr_filter": "{{ ()|attr('__class__') }}",
    "map_attribute": "{{ [1]|map(attribute='__class__')|list }}",
    "getitem_dunder": "{{ ()['__class__'] }}",
    "format_trick": "{{ '{0.__class__.__base__.__subclasses__}'.format(1) }}",
    "format_map_trick": "{{ '{x.__class__}'.format_map({'x': 1}) }}",
    "cycler_globals": "{{ cycler.__init__.__globals__.os.system('echo pwned') }}",
    "joiner_globals": "{{ joiner.__init__.__globals__ }}",
    "namespace_globals": "{{ namespace.__init__.__globals__ }}",
    "lipsum_globals": "{{ lipsum.__globals__['os'] }}",
    "self_context": "{{ self._TemplateReference__context }}",
    "raise_exception_globals": "{{ raise_exception.__globals__ }}",
    "loop_frame": "{% for i in [1] %}{{ loop._iterator }}{% endfor %}",
    "list_mutation": "{{ messages.append(1) }}",
    "huge_range": "{% for i in range(10**9) %}{% endfor %}",
    "huge_range_length": "{{ range(1000000000) | length }}",
    "huge_string_multiplication": "{{ 'a' * 10**10 }}",
    "huge_list_multiplication": "{{ ([1] * 10**10) | length }}",
    "huge_power": "{{ 2 ** (10**10) }}",
    "doubling_concat": (
        "{% set ns = namespace(s='a') %}{% for i in range(64) %}"
        "{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s | length }}"
    ),
    "doubling_plus": (
        "{% set ns = namespace(s='a') %}{% for i in range(64) %}"
        "{% set ns.s = ns.s + ns.s %}{% endfor %}{{ ns.s | length }}"
    ),
    "replace_growth": (
        "{% set ns = namespace(s='aaaa') %}{% for i in range(64) %}"
        "{% set ns.s = ns.s | replace('a', 'aaaa') %}{% endfor %}"
    ),
    "center_width": "{{ 'a' | center(10**10) }}",
    "format_width": "{{ '{:>999999999}'.format(1) }}",
    "format_nested_width": "{{ '{:{}}'.format(1, 999999999) }}",
    "percent_width": "{{ '%999999999d' % 1 }}",
    "format_filter_width": "{{ '%999999999d' | format(1) }}",
    "join_bomb": "{% set s = 'a' * 4000000 %}{{ ([s] * 1000) | join }}",
    "print_list_bomb": "{% set s = 'a' * 4000000 %}{{ [s] * 100 }}",
    "tojson_bomb": "{% set s = 'a' * 4000000 %}{{ ([s] * 100) | tojson }}",
    "expandtabs_bomb": "{{ ('\\t' * 100000).expandtabs(1000000) }}",
    "macro_output_bomb": (
        "{% macro m() %}{% for i in range(100000) %}"
        "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
        "{% endfor %}{% endmacro %}"
        "{% for i in range(1000) %}{{ m() }}{% endfor %}"
    ),
    "output_bomb": (
        "{% for i in range(100000) %}{% for j in range(100) %}"
        "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
        "{% endfor %}{% endfor %}"
    ),
    "deep_recursion": "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}",
    "recursive_loop": "{% for x in [1] recursive %}{{ loop([1]) }}{% endfor %}",
    "nested_ranges_forever": (
        "{% for i in range(100000) %}{% for j in range(100000) %}{% for k in range(100000) %}"
        "{% endfor %}{% endfor %}{% endfor %}"
    ),
    "nested_lists_forever": (
        "{% set l = range(100000) | list %}{% for i in l %}{% for j in l %}{% endfor %}{% endfor %}"
    ),
    "lipsum_bomb": "{{ lipsum(n=10**6) }}",
    "strftime_bomb": "{{ strftime_now('%c' * 1000000) }}",
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_template_is_refused_quickly(name: str) -> None:
    started = time.monotonic()
    with pytest.raises(TemplateRefusedError) as caught:
        render(HOSTILE[name], [{"role": "user", "content": "hi"}])
    elapsed = time.monotonic() - started
    assert elapsed < 3.0, f"{name} took {elapsed:.1f}s"
    message = str(caught.value)
    assert message.startswith("The chat template of 'Tiny Llama' was refused: it")
    assert caught.value.template_name == NAME


def test_unsafe_attribute_message_names_the_attribute() -> None:
    with pytest.raises(TemplateRefusedError) as caught:
        render("{{ t.__subclasses__() }}", t=object)  # e.g. a type reached some other way
    assert str(caught.value) == (
        "The chat template of 'Tiny Llama' was refused: "
        "it tried to access an unsafe attribute '__subclasses__'"
    )
    with pytest.raises(TemplateRefusedError, match="unsafe attribute '__class__'"):
        render("{{ ().__class__.__base__.__subclasses__() }}")


def test_escape_attempts_touch_nothing_outside(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    attempts = [
        f"{{{{ cycler.__init__.__globals__.os.system('touch {marker}') }}}}",
        f"{{{{ ().__class__.__base__.__subclasses__()[0]('touch {marker}') }}}}",
        f"{{{{ lipsum.__globals__['os'].system('touch {marker}') }}}}",
        f"{{{{ self._TemplateReference__context.cycler.__init__.__globals__.os.popen("
        f"'touch {marker}') }}}}",
        "{{ '{0.__init__.__globals__[os].system}'.format(cycler) }}",
        f"{{{{ ''.__class__.__mro__[1].__subclasses__() | map('string') | join }}}}{marker}",
    ]
    for source in attempts:
        with pytest.raises(TemplateRefusedError):
            render(source)
    assert not marker.exists()


def test_wall_clock_budget_is_cooperative() -> None:
    limits = SandboxLimits(timeout_s=0.3, max_iterations=10**9)
    source = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"
    template = ChatTemplate(source, name=NAME, limits=limits)
    started = time.monotonic()
    with pytest.raises(TemplateRefusedError, match=r"ran longer than 0\.3 seconds"):
        template.render([])
    assert time.monotonic() - started < 1.5


def test_watchdog_returns_even_if_one_call_never_yields() -> None:
    limits = SandboxLimits(timeout_s=0.2, watchdog_grace_s=0.2)
    release = threading.Event()

    def stuck() -> str:  # a call the cooperative checks cannot interrupt
        release.wait(10)
        return "late"

    template = ChatTemplate("{{ stuck() }}", name=NAME, limits=limits)
    started = time.monotonic()
    try:
        with pytest.raises(TemplateRefusedError, match=r"ran longer than 0\.2 seconds"):
            template.render([], stuck=stuck)
        assert time.monotonic() - started < 1.5
    finally:
        release.set()


def test_oversized_source_is_refused() -> None:
    limits = SandboxLimits(max_source_chars=100)
    with pytest.raises(TemplateRefusedError, match="Tiny Llama"):
        ChatTemplate("x" * 101, name=NAME, limits=limits)


def test_sandbox_recovers_after_refusals() -> None:
    for source in HOSTILE.values():
        with pytest.raises(TemplateRefusedError):
            render(source)
    assert render("{% for i in range(3) %}{{ i }}{% endfor %}") == "012"
