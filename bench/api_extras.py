"""What the API's extras cost or deliver on the starter model: ``n`` choices decoded together
(tokens per second delivered, n=1 vs n=4) and ``logprobs`` (tok/s with top-5 alternatives).

    .venv/bin/python bench/api_extras.py [--rounds 3] [--tokens 64]

Runs alternate within each round so both sides see the same machine state; medians.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import openai

from app.backend.starter import starter_path
from tests.helpers.api_server import start_api, starter_link

STARTER_CACHE = Path("/tmp/hearth-test-cache/models")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--tokens", type=int, default=64)
    args = parser.parse_args()
    starter = starter_path(STARTER_CACHE)
    if not starter.exists():
        print(f"starter model not found at {starter} (run the tests once)", file=sys.stderr)
        return 1
    root = Path(tempfile.mkdtemp(prefix="hearth-api-extras-"))
    api = start_api(starter_link(root, starter))
    try:
        client = openai.OpenAI(base_url=f"{api.url}/v1", api_key="x", max_retries=0)
        model = client.models.list().data[0].id
        ask = {
            "model": model,
            "messages": [{"role": "user", "content": "Tell me a story about a cat."}],
            "max_tokens": args.tokens,
            "seed": 1,
        }
        client.chat.completions.create(**ask)  # load the model
        cases = {
            "n=1 (temperature 0.8)": {"n": 1, "temperature": 0.8},
            "n=4 (temperature 0.8)": {"n": 4, "temperature": 0.8},
            "greedy, no logprobs": {"temperature": 0},
            "greedy, logprobs top 5": {"temperature": 0, "logprobs": True, "top_logprobs": 5},
        }
        rates: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(args.rounds):
            for name, extra in cases.items():
                began = time.perf_counter()
                reply = client.chat.completions.create(**ask, **extra)
                elapsed = time.perf_counter() - began
                assert reply.usage is not None
                rates[name].append(reply.usage.completion_tokens / elapsed)
        print(f"API extras on {model}, {args.tokens} tokens, median of {args.rounds}:")
        for name, values in rates.items():
            runs = ", ".join(f"{v:.1f}" for v in values)
            print(f"  {name:26s} {statistics.median(values):6.1f} tok/s delivered  ({runs})")
        n1, n4 = (statistics.median(rates[k]) for k in list(cases)[:2])
        plain, lp = (statistics.median(rates[k]) for k in list(cases)[2:])
        print(f"  n=4 / n=1 = {n4 / n1:.2f}x   logprobs / plain = {lp / plain:.2f}x")
    finally:
        api.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
