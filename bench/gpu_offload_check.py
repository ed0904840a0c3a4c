"""Device half of ``gpu_offload_check.sh``: plan a multi-GB model, load it, compare VRAM.

For each scenario a fresh subprocess reads NVML "used" per GPU and its own RSS, loads the
model with the plan's LoadParams (``n_gpu_layers``, ``tensor_split``, context, KV type, flash
attention), runs one short completion, and reads them again. Predicted per-GPU bytes come
from ``Plan.memory.per_gpu_bytes``; CPU from ``at_load_bytes - gpu_bytes``.
Not yet run on a GPU (no machine was lent when it was written).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.backend.planner import Plan

GiB = 1024**3
MiB = 1024**2

_CHILD = r"""
import json, sys, time
import numpy, ctypes, psutil, pynvml
cfg = json.loads(sys.argv[1])
try:
    pynvml.nvmlInit()
    hs = [pynvml.nvmlDeviceGetHandleByIndex(i) for i in range(pynvml.nvmlDeviceGetCount())]
except pynvml.NVMLError:  # dry run without a GPU
    hs = []
used = lambda: [pynvml.nvmlDeviceGetMemoryInfo(h).used for h in hs]
proc = psutil.Process()
v0, r0 = used(), proc.memory_info().rss
import llama_cpp
types = {"f16": 1, "q8_0": 8, "q4_0": 2}
res = {"ok": False}
t = time.time()
try:
    llm = llama_cpp.Llama(cfg["path"], n_ctx=cfg["n_ctx"], n_gpu_layers=cfg["n_gpu_layers"],
        tensor_split=cfg["tensor_split"], flash_attn=cfg["flash_attn"],
        type_k=types[cfg["type_k"]], type_v=types[cfg["type_v"]], swa_full=cfg["swa_full"],
        n_batch=cfg["n_batch"], use_mmap=cfg["use_mmap"], verbose=True)
    llm.create_completion("Hello", max_tokens=4, temperature=0.0)
    res["ok"] = True
except Exception as exc:
    res["error"] = repr(exc)
res["load_s"] = time.time() - t
res["vram_delta"] = [b - a for a, b in zip(v0, used())]
res["rss_delta"] = proc.memory_info().rss - r0
print("RESULT " + json.dumps(res))
"""


def scenarios(path: Path) -> list[tuple[str, Plan]]:
    from app.backend.gguf import read_header
    from app.backend.hardware import detect_hardware
    from app.backend.planner import PlanRequest, Resources, plan_model, resources_from_hardware

    header = read_header(path)
    real = resources_from_hardware(detect_hardware())
    small = Resources(gpu_free_bytes=(3 * GiB,), ram_available_bytes=real.ram_available_bytes)
    fa_q8 = PlanRequest(flash_attn=True, type_k="q8_0", type_v="q8_0")
    return [
        ("full GPU, ctx 8192", plan_model(header, real, PlanRequest(n_ctx=8192))),
        ("full GPU, auto ctx, FA q8_0", plan_model(header, real, fa_q8)),
        ("partial (3 GiB budget), ctx 8192",
         plan_model(header, small, PlanRequest(n_ctx=8192, use_mmap=False))),
    ]  # fmt: skip


def write_test_model(workdir: Path, small: bool) -> Path:
    from tests.helpers.gguf_factory import ModelSpec, write_model

    if small:  # dry run on a machine without a GPU
        spec = ModelSpec(arch="llama", n_layers=4, n_embd=512, n_head=8, n_head_kv=2,
                         n_ff=1536, n_vocab=4096, n_ctx_train=8192, dtype="Q4_K")  # fmt: skip
    else:  # ~4 GB, 7B-shaped
        spec = ModelSpec(arch="llama", n_layers=32, n_embd=4096, n_head=32, n_head_kv=8,
                         n_ff=14336, n_vocab=32000, n_ctx_train=32768, dtype="Q4_K",
                         name="gpu check 7B-shaped")  # fmt: skip
    path = workdir / f"gpu-check-{'small' if small else '7b'}-Q4_K.gguf"
    if not path.exists():
        t = time.time()
        write_model(path, spec)
        print(f"wrote {path.stat().st_size / GiB:.2f} GiB in {time.time() - t:.0f} s", flush=True)
    return path


def run_scenario(path: Path, plan: Plan, log: Path) -> dict[str, Any]:
    load = plan.load
    cfg = {
        "path": str(path), "n_ctx": load.n_ctx, "n_gpu_layers": load.n_gpu_layers,
        "tensor_split": plan.tensor_split, "flash_attn": load.flash_attn,
        "type_k": load.type_k, "type_v": load.type_v, "swa_full": load.swa_full,
        "n_batch": load.n_batch, "use_mmap": load.use_mmap,
    }  # fmt: skip
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, json.dumps(cfg)], capture_output=True, text=True, timeout=600
    )
    log.write_text(out.stderr[-200_000:])
    line = [x for x in out.stdout.splitlines() if x.startswith("RESULT ")]
    if not line:
        return {"ok": False, "error": out.stderr[-1500:]}
    result: dict[str, Any] = json.loads(line[-1][7:])
    return result


def report(label: str, plan: Plan, res: dict[str, Any]) -> list[str]:
    mem = plan.memory
    rows = []
    meas_gpu = res.get("vram_delta", [])
    for i, pred in enumerate(mem.per_gpu_bytes):
        m = meas_gpu[i] if i < len(meas_gpu) else 0
        err = f"{(pred - m) / m:+.1%}" if m else "n/a"
        rows.append(
            f"{label:<36} GPU{i} pred {pred / MiB:8.0f} MiB  meas {m / MiB:8.0f} MiB  {err}"
        )
    pred_cpu = mem.at_load_bytes - mem.gpu_bytes
    rss = res.get("rss_delta", 0)
    err = f"{(pred_cpu - rss) / rss:+.1%}" if rss else "n/a"
    rows.append(
        f"{label:<36} RSS  pred {pred_cpu / MiB:8.0f} MiB  meas {rss / MiB:8.0f} MiB  {err}"
    )
    loaded = "yes" if res.get("ok") else "NO: " + str(res.get("error"))[:300]
    rows.append(
        f"{label:<36} verdict={plan.verdict} n_gpu_layers={plan.gpu_layers} "
        f"n_ctx={plan.n_ctx} loaded={loaded}"
    )
    return rows


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--workdir", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--small", action="store_true", help="tiny model: dry run without a GPU")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    path = write_test_model(args.workdir, args.small)
    rows: list[str] = []
    records = []
    for i, (label, plan) in enumerate(scenarios(path)):
        res = run_scenario(path, plan, args.out / f"llama_log_{i}.txt")
        records.append({"scenario": label, "plan": plan.to_dict(), "result": res})
        rows += report(label, plan, res)
        print("\n".join(rows[-3:]), flush=True)
    (args.out / "gpu_check.txt").write_text("\n".join(rows) + "\n")
    (args.out / "gpu_check.json").write_text(json.dumps(records, indent=2))
    return 0 if all(r["result"].get("ok") for r in records) else 1


if __name__ == "__main__":
    sys.exit(main())
