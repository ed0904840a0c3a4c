"""Engine speed: Hearth's engine path vs a plain low-level loop vs llama-bench, in one run.

    .venv/bin/python bench/engine_speed.py [--model PATH] [--tokens 128] [--rounds 5]

Prints tokens/s medians side by side and the ratios the walking-skeleton issue targets
(engine >= 95% of the plain loop; plain loop within 5% of llama-bench), then Stop latency
(during generation and during a long prompt read) and the engine process's memory.
Runs alternate between paths so background noise hits each about equally.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psutil

from app.backend.engine.client import EngineClient
from app.backend.engine.runtime import _default_threads
from app.backend.engine.types import (
    Finished,
    GenerationRequest,
    LoadParams,
    SamplingParams,
    TokenChunk,
)

PROMPT = "Once upon a time, in a small village by the sea, there lived"


def starter_model() -> Path:
    from app.backend.starter import install_starter, starter_path

    models = Path(os.environ.get("HEARTH_TEST_CACHE", "/tmp/hearth-test-cache")) / "models"
    return starter_path(models) if starter_path(models).exists() else install_starter(models)


def plain_loop(model: Path, n_tokens: int, n_ctx: int, threads: int) -> float:
    """The floor any engine is measured against: load, prefill, greedy sample+decode in C."""
    code = f"""
import ctypes, time, llama_cpp as ll
ll.llama_backend_init()
m = ll.llama_model_load_from_file({str(model)!r}.encode(), ll.llama_model_default_params())
cp = ll.llama_context_default_params(); cp.n_ctx = {n_ctx}; cp.n_threads = {threads}
cp.n_threads_batch = {threads}; cp.no_perf = True
ctx = ll.llama_init_from_model(m, cp); vocab = ll.llama_model_get_vocab(m)
text = {PROMPT!r}.encode(); toks = (ll.llama_token * 512)()
n = ll.llama_tokenize(vocab, text, len(text), toks, 512, True, True)
ll.llama_decode(ctx, ll.llama_batch_get_one(toks, n))
chain = ll.llama_sampler_chain_init(ll.llama_sampler_chain_default_params())
ll.llama_sampler_chain_add(chain, ll.llama_sampler_init_greedy())
one = (ll.llama_token * 1)(); buf = ctypes.create_string_buffer(256); count = 0
t0 = time.perf_counter()
for _ in range({n_tokens}):
    tok = ll.llama_sampler_sample(chain, ctx, -1)
    if ll.llama_vocab_is_eog(vocab, tok): break
    ll.llama_token_to_piece(vocab, tok, buf, 256, 0, False)
    count += 1; one[0] = tok
    ll.llama_decode(ctx, ll.llama_batch_get_one(one, 1))
print(count / (time.perf_counter() - t0))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def engine_path(client: EngineClient, n_tokens: int) -> float:
    """Tokens/s as a caller of the engine client sees them (first chunk to the end)."""
    sampling = SamplingParams(temperature=0.0, repeat_penalty=1.0, max_tokens=n_tokens)
    handle = client.submit(GenerationRequest(PROMPT, sampling))
    first = None
    count = 0
    for event in handle.events(timeout=300):
        if isinstance(event, TokenChunk):
            if first is None:
                first = time.perf_counter()
                count -= event.n_tokens  # the first batch's tokens were made before `first`
            count += event.n_tokens
    assert first is not None
    return count / (time.perf_counter() - first)


def llama_bench(model: Path, n_tokens: int, threads: int) -> float | None:
    built = subprocess.run(
        ["bash", "bench/build_llama_tools.sh"], capture_output=True, text=True, check=False
    )
    if built.returncode != 0:
        print("llama-bench unavailable:", built.stderr.strip()[-300:])
        return None
    binary = Path(built.stdout.strip().splitlines()[-1]) / "llama-bench"
    out = subprocess.run(
        [
            str(binary),
            "-m",
            str(model),
            "-p",
            "0",
            "-n",
            str(n_tokens),
            "-t",
            str(threads),
            "-r",
            "3",
            "-o",
            "json",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return float(json.loads(out.stdout)[0]["avg_ts"])


def stop_latency(client: EngineClient, during_prefill: bool) -> float:
    if during_prefill:
        request = GenerationRequest("lorem ipsum dolor " * 600, SamplingParams(max_tokens=4))
        wait = 0.3
    else:
        request = GenerationRequest(PROMPT, SamplingParams(max_tokens=100_000, repeat_penalty=1.0))
        wait = 1.0
    handle = client.submit(request)
    time.sleep(wait)
    started = time.perf_counter()
    handle.cancel()
    handle.done.wait(30)
    elapsed = time.perf_counter() - started
    assert isinstance(handle.result, Finished), handle.result
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", type=Path)
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--ctx", type=int, default=2048)
    args = parser.parse_args()
    model = args.model or starter_model()
    threads = _default_threads()
    print(f"model {model.name}, {args.tokens} tokens greedy, n_ctx {args.ctx}, {threads} threads")

    client = EngineClient(Path(tempfile.mkdtemp()) / "logs")
    started = time.perf_counter()
    client.load(model, LoadParams(n_ctx=args.ctx, n_threads=threads))
    load_s = time.perf_counter() - started
    engine_proc = psutil.Process(client.engine_pid)
    rss_loaded = engine_proc.memory_info().rss

    plain, engine = [], []
    for _ in range(args.rounds):
        plain.append(plain_loop(model, args.tokens, args.ctx, threads))
        engine.append(engine_path(client, args.tokens))
    rss_after = engine_proc.memory_info().rss
    bench = llama_bench(model, args.tokens, threads)

    stops = [stop_latency(client, during_prefill=False) for _ in range(5)]
    prefill_stops = [stop_latency(client, during_prefill=True) for _ in range(3)]
    client.close()

    med_plain, med_engine = statistics.median(plain), statistics.median(engine)
    print()
    print(f"{'path':<28}{'tok/s (median)':>16}{'runs':>40}")
    print(f"{'llama-bench tg':<28}{bench or float('nan'):>16.1f}{'(3 reps)':>40}")
    print(f"{'plain low-level loop':<28}{med_plain:>16.1f}{[round(x, 1) for x in plain]!s:>40}")
    print(f"{'Hearth engine path':<28}{med_engine:>16.1f}{[round(x, 1) for x in engine]!s:>40}")
    print()
    print(f"engine / plain loop   = {med_engine / med_plain:.3f}   (target >= 0.95)")
    if bench:
        print(f"plain loop / llama-bench = {med_plain / bench:.3f}   (target within 0.95..1.05)")
    print(
        f"Stop latency while generating: median {statistics.median(stops) * 1000:.0f} ms, "
        f"max {max(stops) * 1000:.0f} ms   (target < 200 ms)"
    )
    pmed, pmax = statistics.median(prefill_stops) * 1000, max(prefill_stops) * 1000
    print(f"Stop latency during prompt read: median {pmed:.0f} ms, max {pmax:.0f} ms")
    print(f"Model load (spawn + load): {load_s:.2f} s")
    print(
        f"Engine process RSS: {rss_loaded / 2**20:.0f} MiB after load, "
        f"{rss_after / 2**20:.0f} MiB after generating"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
