"""Prefix reuse: time to first token of a follow-up turn with ~2,000 tokens of history.

    .venv/bin/python bench/prefix_reuse.py [--rounds 5] [--history 2000]

Through the engine client (no HTTP), on the starter model (Gemma 3 270M: 15 of its 18 layers
use a 512-token sliding window). Each round, with a fresh history (a unique first line, so no
round reuses another's cache):

- cold: the follow-up prompt when nothing of it is cached (the same turn without reuse);
- follow-up: turn 1 (history) is answered, then the next turn (history + reply + question);
- edit: a prompt that differs from the cached history ~1,000 tokens back (an edited message,
  a dropped reasoning block): the cache can serve the first ~1,000 tokens only.

Cold and reuse runs alternate. Run for a full-size window cache (``swa_full``, Hearth's
default) and a compact one (``--no-swa-full`` alone, or both with ``--both``): the compact
cache cannot serve an edit behind the window and re-reads everything. Also prints decode speed
at that depth and the KV memory of each choice (from the planner).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.backend.engine.client import EngineClient
from app.backend.engine.types import (
    Finished,
    GenerationRequest,
    LoadParams,
    SamplingParams,
    TokenChunk,
)

TOPICS = ["gardening", "astronomy", "cooking", "sailing", "chess", "painting", "music", "trains"]


def transcript(client: EngineClient, tag: str, target_tokens: int) -> str:
    """A User/Assistant transcript of about ``target_tokens`` tokens."""
    lines = [f"Conversation {tag}."]
    i = 0
    while len(client.tokenize("\n".join(lines))) < target_tokens:
        topic = TOPICS[i % len(TOPICS)]
        lines.append(f"User: Tell me one more fact about {topic}, number {i}.")
        lines.append(
            f"Assistant: Fact {i} about {topic}: it has a long history, many enthusiasts, "
            f"and a vocabulary of its own that takes years to learn well."
        )
        i += 1
    return "\n".join(lines)


def ttft(client: EngineClient, prompt: str, max_tokens: int = 8) -> tuple[float, str, Finished]:
    sampling = SamplingParams(temperature=0.0, max_tokens=max_tokens, repeat_penalty=1.0)
    started = time.perf_counter()
    first = 0.0
    parts: list[str] = []
    final: Finished | None = None
    for event in client.submit(GenerationRequest(prompt, sampling)).events(timeout=300):
        if isinstance(event, TokenChunk):
            first = first or time.perf_counter()
            parts.append(event.text)
        elif isinstance(event, Finished):
            final = event
    assert final is not None, "the request failed"
    return (first or time.perf_counter()) - started, "".join(parts), final


def decode_speed(client: EngineClient, prompt: str) -> float:
    _, _, final = ttft(client, prompt, max_tokens=64)
    return final.stats.tokens_per_second


def measure(model: Path, swa_full: bool, rounds: int, history_tokens: int) -> dict[str, float]:
    client = EngineClient(Path(tempfile.mkdtemp(prefix="hearth-prefix-")))
    client.load(model, LoadParams(n_ctx=4096, n_parallel=2, swa_full=swa_full))
    cold: list[float] = []
    follow: list[float] = []
    edit: list[float] = []
    cached: list[int] = []
    speed: list[float] = []
    ttft(client, "warm up", 2)
    try:
        for r in range(rounds):
            history = transcript(client, f"r{r}", history_tokens)
            question = "\nUser: And what should a beginner do first?\nAssistant:"
            steps = ["cold", "reuse"] if r % 2 == 0 else ["reuse", "cold"]
            for step in steps:
                if step == "cold":
                    # The same turn with nothing cached: a different first line.
                    _, reply, _ = ttft(client, f"Fresh {r}. " + history + "\nAssistant:", 16)
                    t, _, _ = ttft(client, f"Other {r}. " + history + reply + question)
                    cold.append(t)
                else:
                    _, reply, _ = ttft(client, history + "\nAssistant:", 16)
                    t, _, final = ttft(client, history + "\nAssistant:" + reply + question)
                    follow.append(t)
                    cached.append(final.stats.cached_prompt_tokens)
            half = len(history) // 2
            edited = history[:half] + " (edited)" + history[half:]
            t, _, _ = ttft(client, edited + "\nAssistant:")
            edit.append(t)
            speed.append(decode_speed(client, history + "\nUser: continue.\nAssistant:"))
    finally:
        client.close()
    return {
        "cold_s": statistics.median(cold),
        "follow_s": statistics.median(follow),
        "edit_s": statistics.median(edit),
        "cached_tokens": statistics.median(cached),
        "decode_tok_s": statistics.median(speed),
    }


def kv_mib(model: Path, swa_full: bool) -> float:
    from app.backend.gguf import read_header
    from app.backend.planner import PlanRequest, Resources, plan_model

    plan = plan_model(read_header(model), Resources(), PlanRequest(n_ctx=4096, swa_full=swa_full))
    return plan.memory.kv_bytes / 2**20


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--history", type=int, default=2000)
    parser.add_argument("--no-swa-full", action="store_true", help="compact window cache only")
    parser.add_argument("--both", action="store_true", help="full-size and compact caches")
    args = parser.parse_args()
    from bench.batching import starter_model

    model = args.model or starter_model()
    choices = [True, False] if args.both else [not args.no_swa_full]
    print(f"history ~{args.history} tokens, {args.rounds} rounds, medians (engine client):")
    print(
        "| window cache | cold TTFT | follow-up TTFT | ratio | edit 1k back | cached tokens "
        "| decode at depth | KV (4k ctx) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for swa_full in choices:
        m = measure(model, swa_full, args.rounds, args.history)
        print(
            f"| {'full (swa_full)' if swa_full else 'compact'} | {m['cold_s'] * 1000:.0f} ms "
            f"| {m['follow_s'] * 1000:.0f} ms | {m['follow_s'] / m['cold_s']:.1%} "
            f"| {m['edit_s'] * 1000:.0f} ms | {m['cached_tokens']:.0f} "
            f"| {m['decode_tok_s']:.1f} tok/s | {kv_mib(model, swa_full):.0f} MiB |",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
