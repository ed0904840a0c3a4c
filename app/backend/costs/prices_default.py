"""The cloud price table Hearth ships with, as JSON-shaped data.

A Python module rather than a .json file so it travels with the code everywhere (wheel,
PyInstaller bundle) without package-data rules. The user edits a copy, ``prices.json`` in the
data root, which wins over this table (``app.backend.costs.prices``).

Prices are list prices per million tokens in US dollars, input and output separately, for
standard (non-batch, non-cached) requests. They change often: verify before relying on them.
"""

from __future__ import annotations

from typing import Any

AS_OF = "2025-06-01"

DEFAULT_TABLE: dict[str, Any] = {
    "version": 1,
    "as_of": AS_OF,
    "currency": "USD",
    "unit": "per 1M tokens",
    "note": (
        f"List prices as of {AS_OF}, standard tier, no caching or batch discounts. "
        "Prices change often: verify them on the providers' pages before relying on them."
    ),
    "sources": [
        "OpenAI: https://openai.com/api/pricing/",
        "Anthropic: https://www.anthropic.com/pricing#api",
        "Google: https://ai.google.dev/gemini-api/docs/pricing",
        "Mistral: https://mistral.ai/pricing#api-pricing",
        "DeepSeek: https://api-docs.deepseek.com/quick_start/pricing",
    ],
    "prices": [
        {"id": "gpt-4o", "provider": "OpenAI", "input": 2.50, "output": 10.00},
        {"id": "gpt-4o-mini", "provider": "OpenAI", "input": 0.15, "output": 0.60},
        {"id": "gpt-4.1", "provider": "OpenAI", "input": 2.00, "output": 8.00},
        {"id": "gpt-4.1-mini", "provider": "OpenAI", "input": 0.40, "output": 1.60},
        {"id": "gpt-4.1-nano", "provider": "OpenAI", "input": 0.10, "output": 0.40},
        {"id": "o4-mini", "provider": "OpenAI", "input": 1.10, "output": 4.40},
        {"id": "claude-opus-4", "provider": "Anthropic", "input": 15.00, "output": 75.00},
        {"id": "claude-sonnet-4", "provider": "Anthropic", "input": 3.00, "output": 15.00},
        {"id": "claude-3.5-haiku", "provider": "Anthropic", "input": 0.80, "output": 4.00},
        {"id": "gemini-2.5-pro", "provider": "Google", "input": 1.25, "output": 10.00},
        {"id": "gemini-2.5-flash", "provider": "Google", "input": 0.30, "output": 2.50},
        {"id": "gemini-2.0-flash", "provider": "Google", "input": 0.10, "output": 0.40},
        {"id": "mistral-large", "provider": "Mistral", "input": 2.00, "output": 6.00},
        {"id": "mistral-small", "provider": "Mistral", "input": 0.10, "output": 0.30},
        {"id": "deepseek-chat", "provider": "DeepSeek", "input": 0.27, "output": 1.10},
    ],
}
