"""Continuous batching: Hearth's API vs llama-server -np 8 vs llama-cpp-python's server.

    .venv/bin/python bench/batching.py [--rounds 5] [--tokens 128] [--clients 8]
        [--targets hearth,llama-server,lcp-server,hearth-engine] [--threads N]

All servers load the same GGUF (the starter model unless --model) and get the same raw
completion prompts through their OpenAI ``/v1/completions`` streaming endpoint at temperature 0.
Each round runs every target once with ``--clients`` concurrent streams and once with a single
stream; the order of targets alternates between rounds so background noise hits each about
equally. Prints medians and ratios, Hearth's mean batch size (sequences per ``llama_decode``,
from the engine log), whether every stream completed, and the correctness check: each stream
of the concurrent run compared with the same request alone (temperature 0).

- hearth: ``hearth serve`` in a subprocess with a temporary HEARTH_HOME linking the model
  (server.max_parallel and load_defaults.n_parallel set to --clients).
- llama-server: built by bench/build_llama_tools.sh from the same llama.cpp source and flags
  as our llama-cpp-python (nothing is committed), ``-np <clients> -c <ctx * clients>``.
- lcp-server: ``python -m llama_cpp.server`` from our own llama-cpp-python, with its server
  extras installed by pip --target into a throwaway folder (LCP_SERVER_DEPS, default
  /tmp/hearth-bench/lcp-server-deps); skipped if they cannot be installed.
- hearth-engine: the engine client in-process, no HTTP (isolates the API's overhead).
- hearth@PATH: ``hearth serve`` running the code of another source tree (e.g. a
  ``git worktree add /tmp/before <commit>``) with this venv, so a change is measured against
  its baseline in the same alternating run.

Tokens are counted by re-tokenizing each stream's text with the model's tokenizer, the same
rule for every target (servers chunk their SSE differently).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx

ROOT = Path(__file__).resolve().parents[1]
PROMPTS = [
    "Once upon a time, in a small village by the sea, there lived",
    "The history of the printing press begins in",
    "Here is a recipe for a simple tomato soup. First,",
    "The three most important things to know about volcanoes are",
    "Dear diary, today was the strangest day of my life because",
    "In the year 2150, the first city on Mars was called",
    "To build a wooden birdhouse, you will need",
    "The old lighthouse keeper looked out at the storm and",
]
MODEL_NAME = "google/gemma-3-270m/Q4_K_M"


@dataclass
class Stream:
    text: str = ""
    started: float = 0.0
    first: float = 0.0
    ended: float = 0.0
    finish_reason: str | None = None
    complete: bool = False
    error: str = ""
    n_tokens: int = 0


@dataclass
class Target:
    name: str
    base_url: str = ""
    proc: subprocess.Popen[bytes] | None = None
    extra_body: dict[str, object] = field(default_factory=dict)
    run: Callable[[list[str], int], list[Stream]] | None = None
    cleanup: Callable[[], None] | None = None
    log_path: Path | None = None

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        if self.cleanup is not None:
            self.cleanup()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, proc: subprocess.Popen[bytes], timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{url}: the server exited with code {proc.returncode}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{url} did not come up")


# ---------------------------------------------------------------------- streaming client
def stream_completion(target: Target, prompt: str, max_tokens: int) -> Stream:
    out = Stream(started=time.perf_counter())
    body = {
        "model": MODEL_NAME,
        "prompt": prompt,
        "max_tokens": max_tokens,
        "temperature": 0.0,
        "stream": True,
        **target.extra_body,
    }
    parts: list[str] = []
    try:
        with (
            httpx.Client(timeout=httpx.Timeout(600.0)) as client,
            client.stream("POST", f"{target.base_url}/v1/completions", json=body) as response,
        ):
            if response.status_code != 200:
                response.read()
                out.error = f"HTTP {response.status_code}: {response.text[:200]}"
                return out
            for line in response.iter_lines():
                if not line.startswith("data:"):
                    continue
                data = line[5:].strip()
                if data == "[DONE]":
                    out.complete = out.finish_reason is not None
                    break
                chunk = json.loads(data)
                for choice in chunk.get("choices") or []:
                    text = choice.get("text") or ""
                    if text:
                        if not out.first:
                            out.first = time.perf_counter()
                        parts.append(text)
                    if choice.get("finish_reason"):
                        out.finish_reason = choice["finish_reason"]
    except (httpx.HTTPError, json.JSONDecodeError) as exc:
        out.error = f"{type(exc).__name__}: {exc}"
    out.ended = time.perf_counter()
    out.text = "".join(parts)
    return out


def run_http(target: Target, prompts: list[str], max_tokens: int) -> list[Stream]:
    results: list[Stream | None] = [None] * len(prompts)

    def one(i: int) -> None:
        results[i] = stream_completion(target, prompts[i], max_tokens)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(prompts))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return [r for r in results if r is not None]


# ------------------------------------------------------------------------------ targets
def start_hearth(
    model: Path, clients: int, threads: int | None, source: Path | None = None
) -> Target:
    """``hearth serve``; with ``source``, that tree's code (PYTHONPATH) instead of this one."""
    from app.backend.settings.store import SettingsStore

    home = Path(tempfile.mkdtemp(prefix="hearth-bench-home-"))
    link = home / "models" / "google" / "gemma-3-270m" / model.name
    link.parent.mkdir(parents=True)
    os.symlink(model, link)
    store = SettingsStore(home / "settings.json")
    settings = store.load()
    settings.server.max_parallel = clients
    settings.load_defaults.n_parallel = clients
    if threads:
        settings.load_defaults.n_threads = threads
    store.save(settings)
    port = free_port()
    env = dict(os.environ, HEARTH_HOME=str(home))
    if source is not None:
        env["PYTHONPATH"] = str(source)  # found before the editable install's finder
    log = open(home / "serve.log", "wb")  # noqa: SIM115 - closed with the process
    proc = subprocess.Popen(
        [str(ROOT / ".venv/bin/hearth"), "serve", "--port", str(port), "--model", MODEL_NAME],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=source or ROOT,
    )
    name = "hearth" if source is None else f"hearth@{source.name}"
    target = Target(name, f"http://127.0.0.1:{port}", proc, {"repeat_penalty": 1.0})
    target.run = lambda p, n: run_http(target, p, n)

    def cleanup() -> None:
        log.close()
        shutil.rmtree(home, ignore_errors=True)

    target.cleanup = cleanup
    target.log_path = home / "logs"
    wait_http(f"{target.base_url}/v1/models", proc)
    return target


def start_llama_server(model: Path, clients: int, n_ctx: int, threads: int) -> Target:
    built = subprocess.run(
        ["bash", "bench/build_llama_tools.sh"], capture_output=True, text=True, cwd=ROOT
    )
    if built.returncode != 0:
        raise RuntimeError("llama-server unavailable: " + built.stderr.strip()[-300:])
    binary = Path(built.stdout.strip().splitlines()[-1]) / "llama-server"
    port = free_port()
    proc = subprocess.Popen(
        [
            str(binary),
            "-m",
            str(model),
            "-np",
            str(clients),
            "-c",
            str(n_ctx * clients),
            "-t",
            str(threads),
            "--port",
            str(port),
            "--no-webui",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    target = Target("llama-server", f"http://127.0.0.1:{port}", proc)
    target.run = lambda p, n: run_http(target, p, n)
    wait_http(f"{target.base_url}/health", proc)
    return target


def start_lcp_server(model: Path, n_ctx: int, threads: int) -> Target:
    deps = Path(os.environ.get("LCP_SERVER_DEPS", "/tmp/hearth-bench/lcp-server-deps"))
    if not (deps / "sse_starlette").exists():
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "--quiet",
                "--target",
                str(deps),
                "uvicorn>=0.22.0",
                "fastapi>=0.100.0",
                "pydantic-settings>=2.0.1",
                "sse-starlette>=1.6.1",
                "starlette-context>=0.3.6,<0.4",
                "PyYAML>=5.1",
            ],
            check=True,
        )
    port = free_port()
    env = dict(os.environ, PYTHONPATH=str(deps))
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(model),
            "--model_alias",
            MODEL_NAME,
            "--n_ctx",
            str(n_ctx),
            "--n_threads",
            str(threads),
            "--n_threads_batch",
            str(threads),
            "--port",
            str(port),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    target = Target("lcp-server", f"http://127.0.0.1:{port}", proc, {"repeat_penalty": 1.0})
    target.run = lambda p, n: run_http(target, p, n)
    wait_http(f"{target.base_url}/v1/models", proc)
    return target


def start_engine(model: Path, clients: int, threads: int | None) -> Target:
    from app.backend.engine.client import EngineClient
    from app.backend.engine.types import (
        Finished,
        GenerationRequest,
        LoadParams,
        SamplingParams,
        TokenChunk,
    )

    logs = Path(tempfile.mkdtemp(prefix="hearth-bench-engine-"))
    client = EngineClient(logs)
    client.load(model, LoadParams(n_parallel=clients, n_threads=threads))

    def run(prompts: list[str], max_tokens: int) -> list[Stream]:
        sampling = SamplingParams(temperature=0.0, repeat_penalty=1.0, max_tokens=max_tokens)
        streams = [Stream(started=time.perf_counter()) for _ in prompts]
        handles = [client.submit(GenerationRequest(p, sampling)) for p in prompts]
        for stream, handle in zip(streams, handles, strict=True):
            parts = []
            for event in handle.events(timeout=600):
                if isinstance(event, TokenChunk) and event.text:
                    stream.first = stream.first or time.perf_counter()
                    parts.append(event.text)
                elif isinstance(event, Finished):
                    stream.finish_reason = event.stop_reason
                    stream.complete = True
            stream.text = "".join(parts)
            stream.ended = time.perf_counter()
        return streams

    target = Target("hearth-engine", log_path=logs)
    target.run = run

    def cleanup() -> None:
        client.close()
        shutil.rmtree(logs, ignore_errors=True)

    target.cleanup = cleanup
    return target


# --------------------------------------------------------------------------- measuring
@dataclass
class Round:
    aggregate: float
    single: float
    single_ttft: float
    complete: int
    texts: list[str]


def scheduler_counters(target: Target) -> tuple[int, int]:
    """(decode steps, sequence-steps) so far, from the last line Hearth's engine logged."""
    if target.log_path is None:
        return 0, 0
    last = (0, 0)
    for log in target.log_path.glob("engine*.log"):
        for line in log.read_text(errors="replace").splitlines():
            found = re.search(r"hearth-scheduler: steps=(\d+) sequences=(\d+)", line)
            if found:
                last = (int(found.group(1)), int(found.group(2)))
    return last


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--ctx", type=int, default=4096, help="context per sequence")
    parser.add_argument("--targets", default="hearth,llama-server,lcp-server")
    parser.add_argument("--threads", type=int, default=None, help="default: Hearth's default")
    parser.add_argument("--json", type=Path, default=None, help="also write results here")
    args = parser.parse_args()

    from app.backend.engine.runtime import default_thread_count

    threads = args.threads or default_thread_count()
    model = args.model or starter_model()
    prompts = (PROMPTS * ((args.clients + len(PROMPTS) - 1) // len(PROMPTS)))[: args.clients]
    count = token_counter(model)

    starters: dict[str, Callable[[], Target]] = {
        "hearth": lambda: start_hearth(model, args.clients, args.threads),
        "llama-server": lambda: start_llama_server(model, args.clients, args.ctx, threads),
        "lcp-server": lambda: start_lcp_server(model, args.ctx, threads),
        "hearth-engine": lambda: start_engine(model, args.clients, args.threads),
    }
    targets: list[Target] = []
    try:
        for name in args.targets.split(","):
            try:
                if name.startswith("hearth@"):
                    source = Path(name.removeprefix("hearth@")).resolve()
                    targets.append(start_hearth(model, args.clients, args.threads, source))
                else:
                    targets.append(starters[name]())
                print(f"started {name}", file=sys.stderr, flush=True)
            except Exception as exc:
                print(f"skipping {name}: {exc}", file=sys.stderr)
        for target in targets:  # warm-up (first-touch of weights, server caches)
            assert target.run is not None
            target.run(prompts[:1], 8)
        rounds: dict[str, list[Round]] = {t.name: [] for t in targets}
        batches: dict[str, list[float]] = {t.name: [] for t in targets}
        for r in range(args.rounds):
            order = targets if r % 2 == 0 else list(reversed(targets))
            for target in order:
                assert target.run is not None
                before = scheduler_counters(target)
                started = time.perf_counter()
                streams = target.run(prompts, args.tokens)
                wall = time.perf_counter() - started
                after = scheduler_counters(target)
                for s in streams:
                    s.n_tokens = count(s.text)
                if after[0] > before[0]:
                    batches[target.name].append((after[1] - before[1]) / (after[0] - before[0]))
                single = target.run(prompts[:1], args.tokens)[0]
                single.n_tokens = count(single.text)
                decode = single.ended - single.first
                rounds[target.name].append(
                    Round(
                        aggregate=sum(s.n_tokens for s in streams) / wall,
                        single=(single.n_tokens - 1) / decode if decode > 0 else 0.0,
                        single_ttft=single.first - single.started,
                        complete=sum(
                            s.complete and not s.error and s.n_tokens >= args.tokens - 2
                            for s in streams
                        ),
                        texts=[s.text for s in streams],
                    )
                )
                last = rounds[target.name][-1]
                print(
                    f"round {r + 1} {target.name:14s} {args.clients} clients "
                    f"{last.aggregate:7.1f} tok/s ({last.complete}/{len(streams)} complete)  "
                    f"1 client {last.single:6.1f} tok/s",
                    file=sys.stderr,
                    flush=True,
                )
        correctness = {}
        for target in targets:
            if target.name in ("hearth", "hearth-engine", "llama-server") or target.name.startswith(
                "hearth@"
            ):
                assert target.run is not None
                alone = [target.run([p], args.tokens)[0].text for p in prompts]
                correctness[target.name] = compare(alone, rounds[target.name], count)
        report(args, threads, rounds, batches, correctness)
        if args.json:
            args.json.write_text(
                json.dumps(
                    {
                        name: [{k: v for k, v in vars(x).items() if k != "texts"} for x in rs]
                        for name, rs in rounds.items()
                    }
                    | {"correctness": correctness},
                    indent=2,
                )
            )
    finally:
        for target in targets:
            target.stop()
    return 0


def compare(
    alone: list[str], rounds: list[Round], count: Callable[[str], int]
) -> dict[str, object]:
    """How often a stream of the concurrent run differs from the same request alone, and from
    which token on."""
    same = 0
    total = 0
    diverge_at: list[int] = []
    for rnd in rounds:
        for solo, batched in zip(alone, rnd.texts, strict=True):
            total += 1
            if solo == batched:
                same += 1
            else:
                diverge_at.append(count(solo[: common_chars(solo, batched)]))
    return {
        "identical": same,
        "streams": total,
        "first_divergent_token": sorted(diverge_at),
    }


def common_chars(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def report(
    args: argparse.Namespace,
    threads: int,
    rounds: dict[str, list[Round]],
    batches: dict[str, list[float]],
    correctness: dict[str, dict[str, object]],
) -> None:
    med = {
        name: (
            statistics.median(r.aggregate for r in rs),
            statistics.median(r.single for r in rs),
            statistics.median(r.single_ttft for r in rs),
            sum(r.complete for r in rs),
            len(rs) * args.clients,
        )
        for name, rs in rounds.items()
        if rs
    }
    print(
        f"\n{args.clients} clients x {args.tokens} tokens, temperature 0, "
        f"{args.rounds} alternating rounds, {threads} decode thread(s), medians:"
    )
    print(f"| target | {args.clients} clients tok/s | 1 client tok/s | 1-client TTFT | complete |")
    print("|---|---:|---:|---:|---:|")
    for name, (agg, single, ttft, complete, total) in med.items():
        print(f"| {name} | {agg:.1f} | {single:.1f} | {ttft * 1000:.0f} ms | {complete}/{total} |")
    if "hearth" in med:
        hearth = med["hearth"]
        peers = ["llama-server", "lcp-server", *(n for n in med if n.startswith("hearth@"))]
        for peer in peers:
            if peer in med:
                print(
                    f"hearth / {peer}: {args.clients} clients {hearth[0] / med[peer][0]:.2f}x, "
                    f"1 client {hearth[1] / med[peer][1]:.2f}x"
                )
                ratios = [
                    h.aggregate / p.aggregate
                    for h, p in zip(rounds["hearth"], rounds[peer], strict=False)
                ]
                singles = [
                    h.single / p.single
                    for h, p in zip(rounds["hearth"], rounds[peer], strict=False)
                    if p.single
                ]
                print(
                    f"  per-round hearth/{peer}: {args.clients} clients "
                    + " ".join(f"{x:.2f}" for x in ratios)
                    + f" (median {statistics.median(ratios):.2f}); 1 client "
                    + " ".join(f"{x:.2f}" for x in singles)
                    + (f" (median {statistics.median(singles):.2f})" if singles else "")
                )
    for name, means in batches.items():
        if means:
            print(
                f"{name}: mean batch size (sequences per llama_decode) in the {args.clients}-client"
                f" runs: {statistics.median(means):.2f} (per round: "
                + " ".join(f"{m:.2f}" for m in means)
                + ")"
            )
    for name, result in correctness.items():
        print(
            f"correctness {name}: {result['identical']}/{result['streams']} streams identical "
            f"to the request alone; divergent ones first differ at token "
            f"{result['first_divergent_token']}"
        )


def starter_model() -> Path:
    from app.backend.starter import install_starter, starter_path

    models = Path(os.environ.get("HEARTH_TEST_CACHE", "/tmp/hearth-test-cache")) / "models"
    return starter_path(models) if starter_path(models).exists() else install_starter(models)


def token_counter(model: Path) -> Callable[[str], int]:
    import llama_cpp

    vocab = llama_cpp.Llama(str(model), vocab_only=True, verbose=False)

    def count(text: str) -> int:
        return len(vocab.tokenize(text.encode(), add_bos=False, special=True)) if text else 0

    return count


if __name__ == "__main__":
    sys.exit(main())
