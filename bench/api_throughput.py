"""API server throughput: Hearth's API vs its direct engine path vs llama-cpp-python's server.

    .venv/bin/python bench/api_throughput.py [--model PATH] [--tokens 96] [--rounds 5]

Needs the bench extra for the peer (``pip install -e ".[bench]"``: llama-cpp-python[server]).
Prints, on the same model, threads and context:

1. one stream: direct engine (``EngineClient.submit``, as the chat does) vs the API
   (``/v1/completions`` streamed over loopback): tokens/s and time to first token, medians of
   alternating rounds, with the API/direct ratio (target >= 95%) and the added TTFT
   (target < 15 ms);
2. the same streamed request from 1 and 4 concurrent clients against Hearth and against
   ``python -m llama_cpp.server``: aggregate tokens/s, tokens delivered out of requested, and
   streams that ended properly. Tokens are counted by tokenizing what each client received,
   the same way for both servers. The engines run one at a time (2-core machines).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx

from app.backend.core import HearthCore
from app.backend.engine.runtime import default_thread_count
from app.backend.engine.types import GenerationRequest, SamplingParams, TokenChunk
from app.backend.paths import DataPaths
from app.backend.server.runner import ServerRunner

PROMPT = "Once upon a time, in a small village by the sea, there lived"


def starter_model() -> Path:
    from app.backend.starter import install_starter, starter_path

    models = Path(os.environ.get("HEARTH_TEST_CACHE", "/tmp/hearth-test-cache")) / "models"
    return starter_path(models) if starter_path(models).exists() else install_starter(models)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# ------------------------------------------------------------------ one stream
def direct_once(core: HearthCore, model_id: str, n: int) -> tuple[float, float, int]:
    engine = core.engines.get(model_id)
    assert engine is not None
    sampling = SamplingParams(temperature=0, max_tokens=n, repeat_penalty=1.0)
    start = time.perf_counter()
    first = 0.0
    handle = engine.submit(GenerationRequest(PROMPT, sampling, source="bench"))
    tokens = 0
    for event in handle.events():
        if isinstance(event, TokenChunk) and event.text and not first:
            first = time.perf_counter()
        if not isinstance(event, TokenChunk):
            tokens = event.stats.completion_tokens if hasattr(event, "stats") else 0
    end = time.perf_counter()
    return tokens / (end - start), first - start, tokens


def api_once(url: str, model: str, n: int) -> tuple[float, float, int]:
    body = {
        "model": model,
        "prompt": PROMPT,
        "max_tokens": n,
        "temperature": 0,
        "repeat_penalty": 1.0,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    tokens = 0
    first = 0.0
    with httpx.Client(timeout=300) as client:
        start = time.perf_counter()
        with client.stream("POST", f"{url}/v1/completions", json=body) as reply:
            for line in reply.iter_lines():
                if not line.startswith("data: {"):
                    continue
                data = json.loads(line[6:])
                if data["choices"] and data["choices"][0]["text"] and not first:
                    first = time.perf_counter()
                if data.get("usage"):
                    tokens = data["usage"]["completion_tokens"]
        end = time.perf_counter()
    return tokens / (end - start), first - start, tokens


# ------------------------------------------------------------ concurrent load
async def one_client(client: httpx.AsyncClient, url: str, model: str, n: int) -> tuple[str, bool]:
    body = {"model": model, "prompt": PROMPT, "max_tokens": n, "temperature": 0, "stream": True}
    parts: list[str] = []
    finished = False
    try:
        async with client.stream("POST", f"{url}/v1/completions", json=body) as reply:
            async for line in reply.aiter_lines():
                if line.strip() == "data: [DONE]":
                    finished = True
                elif line.startswith("data: {"):
                    data = json.loads(line[6:])
                    if data.get("choices"):
                        parts.append(data["choices"][0].get("text") or "")
    except httpx.HTTPError:
        finished = False  # the server cut the stream short
    return "".join(parts), finished


def load_run(url: str, model: str, n: int, clients: int, count) -> dict:  # type: ignore[no-untyped-def]
    async def main() -> tuple[list[tuple[str, bool]], float]:
        async with httpx.AsyncClient(timeout=600) as client:
            start = time.perf_counter()
            results = await asyncio.gather(
                *(one_client(client, url, model, n) for _ in range(clients))
            )
            return list(results), time.perf_counter() - start

    results, wall = asyncio.run(main())
    delivered = sum(count(text) for text, _ in results)
    return {
        "clients": clients,
        "tok_s": delivered / wall,
        "delivered": delivered,
        "requested": n * clients,
        "complete": sum(1 for _, ok in results if ok),
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--tokens", type=int, default=96)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    model_path = args.model or starter_model()
    root = Path(tempfile.mkdtemp(prefix="hearth-bench-"))
    target = root / "models" / "bench" / "model" / model_path.name
    target.parent.mkdir(parents=True)
    os.symlink(model_path.resolve(), target)

    import llama_cpp

    vocab = llama_cpp.Llama(str(model_path), vocab_only=True, verbose=False)

    def count(text: str) -> int:
        return len(vocab.tokenize(text.encode(), add_bos=False, special=True)) if text else 0

    core = HearthCore(DataPaths(root))
    model = core.library.scan()[0]
    runner = ServerRunner(core)
    url = runner.start({"port": 0})
    core.engines.load(model)
    loaded = core.engines.loaded()[0]
    n_ctx, threads = loaded.params.n_ctx, loaded.params.n_threads or default_thread_count()
    print(f"model {model.id}  n_ctx {n_ctx}  threads {threads}  tokens {args.tokens}")
    print(f"load average before the run: {os.getloadavg()[0]:.2f} ({os.cpu_count()} CPUs)")
    api_once(url, model.id, 8)  # warm both paths
    direct_once(core, model.id, 8)
    direct, api = [], []
    for _ in range(args.rounds):
        direct.append(direct_once(core, model.id, args.tokens))
        api.append(api_once(url, model.id, args.tokens))
    d_tps = statistics.median(r[0] for r in direct)
    a_tps = statistics.median(r[0] for r in api)
    d_ttft = statistics.median(r[1] for r in direct) * 1000
    a_ttft = statistics.median(r[1] for r in api) * 1000
    print("\nOne stream (median of alternating rounds)")
    print(f"{'path':<22}{'tok/s':>9}{'TTFT ms':>10}")
    print(f"{'direct engine':<22}{d_tps:>9.1f}{d_ttft:>10.1f}")
    print(f"{'Hearth API (SSE)':<22}{a_tps:>9.1f}{a_ttft:>10.1f}")
    print(f"API/direct: {a_tps / d_tps:.1%} of tokens/s (target >= 95%); "
          f"added TTFT {a_ttft - d_ttft:+.1f} ms (target < 15 ms)")  # fmt: skip

    hearth_runs = [load_run(url, model.id, args.tokens, c, count) for c in (1, 4)]
    runner.stop()
    core.close()

    port = free_port()
    peer = subprocess.Popen(
        [
            sys.executable, "-m", "llama_cpp.server", "--model", str(model_path),
            "--port", str(port), "--n_ctx", str(n_ctx), "--n_threads", str(threads),
            "--n_threads_batch", str(threads),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    peer_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                httpx.get(f"{peer_url}/v1/models", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        load_run(peer_url, "x", 8, 1, count)  # warm
        peer_runs = [load_run(peer_url, "x", args.tokens, c, count) for c in (1, 4)]
    finally:
        peer.terminate()
        peer.wait(30)

    print("\nConcurrent streaming clients, same model/threads/context")
    print(f"{'server':<26}{'clients':>8}{'tok/s':>9}{'delivered':>18}{'complete':>10}")
    for name, runs in (("Hearth API", hearth_runs), ("llama_cpp.server", peer_runs)):
        for r in runs:
            share = f"{r['delivered']}/{r['requested']}"
            print(
                f"{name:<26}{r['clients']:>8}{r['tok_s']:>9.1f}{share:>18}"
                f"{r['complete']:>7}/{r['clients']}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
