"""Structured output: a JSON schema the reply must follow, as a grammar and as a check."""

from __future__ import annotations

import json
from typing import Any

import jsonschema


class SchemaError(ValueError):
    """The schema cannot be used; ``str()`` says why in a sentence."""


def parse_schema(text: str) -> dict[str, Any]:
    """Parse and check a JSON schema typed by the user."""
    try:
        schema = json.loads(text)
    except ValueError as exc:
        raise SchemaError(f"The JSON schema is not valid JSON: {exc}.") from exc
    if not isinstance(schema, dict):
        raise SchemaError('The JSON schema must be an object, like {"type": "object"}.')
    try:
        jsonschema.Draft202012Validator.check_schema(schema)
    except jsonschema.SchemaError as exc:
        where = "/".join(str(p) for p in exc.path) or "the top level"
        raise SchemaError(f"The JSON schema is not valid at {where}: {exc.message}.") from exc
    return schema


def schema_to_grammar(schema: dict[str, Any]) -> str:
    """GBNF that makes the model write JSON following ``schema`` (llama.cpp's converter)."""
    from llama_cpp.llama_grammar import json_schema_to_gbnf

    try:
        return str(json_schema_to_gbnf(json.dumps(schema)))
    except Exception as exc:  # the converter raises plain exceptions on unsupported parts
        raise SchemaError(f"This JSON schema cannot be turned into a grammar: {exc}.") from exc


def check_reply(text: str, schema: dict[str, Any]) -> tuple[str | None, str | None]:
    """(the reply pretty-printed, None) when it is valid; (pretty or None, the problem)."""
    try:
        value = json.loads(text)
    except ValueError as exc:
        return None, f"The reply is not valid JSON: {exc}."
    pretty = json.dumps(value, indent=2, ensure_ascii=False)
    errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(value), key=str)
    if errors:
        first = errors[0]
        where = "/".join(str(p) for p in first.path) or "the top level"
        return pretty, f"The reply does not match the schema at {where}: {first.message}."
    return pretty, None
