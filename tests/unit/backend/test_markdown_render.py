from __future__ import annotations

import pytest

from app.backend.markdown_render import (
    COPY_SCHEME,
    MarkdownStyle,
    render_markdown,
    stable_prefix_length,
)
from app.backend.structured import SchemaError, check_reply, parse_schema, schema_to_grammar


def test_code_tables_links_and_no_raw_html() -> None:
    r = render_markdown(
        "**b** [x](https://example.org)\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n"
        "```python\nif a < b: print(1)\n```\n\n<script>alert(1)</script>",
        MarkdownStyle(dark=True),
    )
    assert "<strong>b</strong>" in r.html and 'href="https://example.org"' in r.html
    assert "<td>1</td>" in r.html
    assert f"{COPY_SCHEME}:0" in r.html and r.code_blocks == ["if a < b: print(1)\n"]
    assert "<script>" not in r.html and "style=" in r.html  # highlighted with inline styles


def test_stable_prefix_stops_before_an_open_fence() -> None:
    text = "para one\n\n```py\nx = 1\n\ny = 2\n"
    assert stable_prefix_length(text) == len("para one\n\n")
    assert stable_prefix_length(text + "```\n") == len(text + "```\n")


def test_schema_checks_and_grammar() -> None:
    with pytest.raises(SchemaError, match="not valid JSON"):
        parse_schema("{type: object")
    with pytest.raises(SchemaError, match="not valid"):
        parse_schema('{"type": "objekt"}')
    schema = parse_schema(
        '{"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}'
    )
    assert "root" in schema_to_grammar(schema)
    assert check_reply('{"n": 3}', schema) == ('{\n  "n": 3\n}', None)
    pretty, problem = check_reply('{"n": "x"}', schema)
    assert pretty is not None and problem is not None and "n" in problem
    assert check_reply("not json", schema)[0] is None


def test_stable_prefix_from_an_earlier_answer_matches_a_full_scan() -> None:
    text = "intro\n\n```py\na = 1\n\nb = 2\n```\n\n- one\n- two\n\nopen tail"
    full = stable_prefix_length(text)
    assert full == text.index("open tail")
    for cut in range(len(text) + 1):
        earlier = stable_prefix_length(text[:cut])
        assert stable_prefix_length(text, earlier) == full


def test_split_blocks_cuts_only_between_blocks() -> None:
    from app.backend.markdown_render import split_blocks

    block = "para " * 30 + "\n\n"
    fence = "```py\n" + "x = 1\n\n" * 40 + "```\n\n"  # blank lines inside: not boundaries
    text = (block * 5 + fence) * 4 + "open tail"
    parts = split_blocks(text, 400)
    assert "".join(parts) == text and len(parts) > 4
    for part in parts[:-1]:
        assert stable_prefix_length(part) == len(part)  # ends on a boundary
        assert part.count("```") % 2 == 0  # never inside a fence
    assert split_blocks("short", 400) == ["short"] and split_blocks("", 10) == [""]
