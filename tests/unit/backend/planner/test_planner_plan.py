"""Plans for 0, 1 and 2 GPUs (through the fake NVML), by hand-checked arithmetic."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from synthetic import llama_header

from app.backend.hardware import detect_hardware
from app.backend.hardware.types import LlamaBackendInfo
from app.backend.planner import (
    ModelShape,
    PlanRequest,
    Resources,
    Settings,
    estimate,
    plan_model,
    resources_from_hardware,
)
from app.backend.planner.memory import GPU_CONTEXT_BYTES
from tests.helpers.fake_nvml import FakeGpu, FakeNvml, GiB, two_gpus

MiB = 1024**2
CUDA = LlamaBackendInfo(True, "CUDA", True)
MARGIN = 256 * MiB


def hw(nvml: FakeNvml, ram: int | None = None) -> Resources:
    res = resources_from_hardware(detect_hardware(nvml, llama=CUDA))
    if ram is not None:
        res = Resources(res.gpu_free_bytes, ram, gpu_names=res.gpu_names)
    return res


@pytest.fixture(scope="module")
def llama70b() -> ModelShape:
    return ModelShape.from_header(llama_header())


@pytest.fixture(scope="module")
def llama8b() -> ModelShape:
    return ModelShape.from_header(
        llama_header(n_layers=32, n_embd=4096, n_head=32, n_head_kv=8, n_ff=14336)
    )


def test_70b_plan_is_fast(llama70b: ModelShape) -> None:
    header = llama_header()
    start = time.perf_counter()
    plan = plan_model(header, Resources((22 * GiB, 6 * GiB), 64 * GiB))
    elapsed = time.perf_counter() - start
    assert elapsed < 0.5, f"{elapsed * 1e3:.1f} ms"  # ~5 ms idle; guards against a search blow-up
    assert plan.verdict == "partial"
    assert 40 * GiB < llama70b.weights_bytes < 43 * GiB  # Q4_K_M-like 70B: ~40-42 GiB


def test_no_gpu_is_cpu_only(llama8b: ModelShape) -> None:
    plan = plan_model(llama8b, hw(FakeNvml.driver_missing(), ram=32 * GiB),
                      PlanRequest(n_ctx=8192))  # fmt: skip
    assert plan.verdict == "cpu_only" and plan.gpu_layers == 0
    assert plan.memory.gpu_bytes == 0
    assert any("No GPU" in r for r in plan.reasons)


def test_zero_gpus_reported_by_driver(llama8b: ModelShape) -> None:
    plan = plan_model(llama8b, hw(FakeNvml.with_gpus([]), ram=32 * GiB), PlanRequest(n_ctx=4096))
    assert plan.verdict == "cpu_only"


def test_one_big_gpu_full_offload(llama8b: ModelShape) -> None:
    nvml = FakeNvml.with_gpus([FakeGpu("H100", total=80 * GiB, used=1 * GiB)])
    plan = plan_model(llama8b, hw(nvml, ram=16 * GiB), PlanRequest(n_ctx=8192))
    assert plan.verdict == "full_gpu" and plan.gpu_layers == 33
    m = plan.memory
    # hand check: GPU = all block + output weights + all KV + compute + CUDA context
    kv = 32 * 8192 * 2 * (8 * 128) * 2  # layers * cells * (K+V) * n_embd_kv * f16 = 1 GiB
    assert m.kv_bytes == kv == 1 * GiB
    gpu = m.devices[1]
    assert gpu["weights_bytes"] == sum(llama8b.layer_bytes) + llama8b.output_bytes
    assert gpu["kv_bytes"] == kv
    assert gpu["other_bytes"] == GPU_CONTEXT_BYTES
    assert m.per_gpu_bytes[0] <= 79 * GiB - MARGIN
    assert plan.load.n_gpu_layers == 33 and plan.tensor_split is None


def test_one_small_gpu_partial_layers_by_arithmetic(llama8b: ModelShape) -> None:
    nvml = FakeNvml.with_gpus([FakeGpu("RTX 3060", total=8 * GiB, used=2 * GiB)])
    res = hw(nvml, ram=32 * GiB)
    plan = plan_model(llama8b, res, PlanRequest(n_ctx=4096))
    assert plan.verdict == "partial"
    budget = 6 * GiB - MARGIN
    # n+1 layers must not fit, n must: recompute both by hand from the estimate
    s = Settings(n_ctx=4096)
    n = plan.gpu_layers
    assert estimate(llama8b, s, n, [float(budget)]).per_gpu_bytes[0] <= budget
    assert estimate(llama8b, s, n + 1, [float(budget)]).per_gpu_bytes[0] > budget
    # by hand: a block is 132.5 MiB of weights + 16 MiB of KV (4096 cells * K,V * 1024 * 2 B).
    # n_gpu_layers=32 offloads the *last* 32 of 33 (blocks 1..31 + output layer): 512 MiB CUDA
    # context + 411 MiB output weights + compute (KQ stage ~296 MiB > logits 512 rows *
    # 128256 * 4 B = 250.5 MiB; + a 46 MiB op_offload copy of a CPU tensor) + 31 * 148.5 MiB
    # = 5.73 GiB <= 5.75 GiB; one more block does not fit.
    assert llama8b.layer_bytes[0] == 138_936_320
    assert n == 32 and plan.memory.devices[0]["weights_bytes"] == (
        llama8b.token_embd_bytes + llama8b.layer_bytes[0]
    )


def test_two_gpus_split_in_proportion_to_free_vram(llama70b: ModelShape) -> None:
    res = hw(two_gpus(), ram=64 * GiB)  # 22 GiB and 6 GiB free
    plan = plan_model(llama70b, res, PlanRequest(n_ctx=8192))
    b0, b1 = 22 * GiB - MARGIN, 6 * GiB - MARGIN
    assert plan.tensor_split == [round(b0 / (b0 + b1), 4), round(b1 / (b0 + b1), 4)]
    assert plan.verdict == "partial"
    used = plan.memory.per_gpu_bytes
    assert used[0] <= b0 and used[1] <= b1
    # roughly 28 GiB of VRAM holds about 28/40 of a 40 GiB model minus KV/compute/contexts
    assert 30 <= plan.gpu_layers <= 50


def test_two_gpus_full_when_big(llama8b: ModelShape) -> None:
    nvml = FakeNvml.with_gpus([FakeGpu("A", total=24 * GiB, used=0), FakeGpu("B", 24 * GiB, 0)])
    plan = plan_model(llama8b, hw(nvml, ram=16 * GiB), PlanRequest(n_ctx=8192))
    assert plan.verdict == "full_gpu" and plan.tensor_split == [0.5, 0.5]
    # 33 layers (32 + output) at fractions il/33: il <= 16 -> GPU0 (17 blocks), rest GPU1
    assert plan.memory.devices[1]["layers"] == 17 and plan.memory.devices[2]["layers"] == 15


def test_does_not_fit_suggests_smaller_context(llama70b: ModelShape) -> None:
    plan = plan_model(llama70b, Resources((), 16 * GiB), PlanRequest(n_ctx=8192))
    assert plan.verdict == "does_not_fit" and not plan.fits
    assert "Needs" in plan.reasons[0]


def test_auto_context_is_largest_that_fits(llama8b: ModelShape) -> None:
    res = Resources((), 12 * GiB)
    plan = plan_model(llama8b, res, PlanRequest())
    assert plan.verdict == "cpu_only"
    assert plan.n_ctx % 256 == 0
    bigger = plan_model(llama8b, res, PlanRequest(n_ctx=plan.n_ctx + 256))
    assert plan.fits and not bigger.fits


def test_auto_context_capped_at_training(llama8b: ModelShape) -> None:
    header = llama_header(n_layers=4, n_embd=512, n_head=8, n_head_kv=8, n_ff=1024,
                          n_vocab=1000, n_ctx_train=2048)  # fmt: skip
    plan = plan_model(header, Resources((24 * GiB,), 32 * GiB))
    assert plan.n_ctx == 2048 and plan.verdict == "full_gpu"


def test_offload_unsupported_build_plans_cpu(llama8b: ModelShape) -> None:
    res = Resources((80 * GiB,), 64 * GiB, gpu_offload_supported=False)
    plan = plan_model(llama8b, res, PlanRequest(n_ctx=4096))
    assert plan.verdict == "cpu_only"
    assert any("can't offload" in r for r in plan.reasons)


def test_quantized_v_turns_on_flash_attn(llama8b: ModelShape) -> None:
    plan = plan_model(llama8b, Resources((), 64 * GiB), PlanRequest(n_ctx=4096, type_k="q4_0",
                                                                    type_v="q4_0"))  # fmt: skip
    assert plan.load.flash_attn and plan.load.type_v == "q4_0"
    f16 = plan_model(llama8b, Resources((), 64 * GiB), PlanRequest(n_ctx=4096))
    assert plan.memory.kv_bytes * 2 * 32 // 18 == f16.memory.kv_bytes  # 18 B per 32 vs 2 B


def test_reserved_vram_of_loaded_models_counts(llama8b: ModelShape) -> None:
    free = Resources((24 * GiB,), 32 * GiB)
    busy = Resources((24 * GiB,), 32 * GiB, gpu_reserved_bytes=(18 * GiB,))
    a = plan_model(llama8b, free, PlanRequest(n_ctx=8192))
    b = plan_model(llama8b, busy, PlanRequest(n_ctx=8192))
    assert a.verdict == "full_gpu" and b.verdict == "partial"


def test_plan_json_has_the_contract(llama8b: ModelShape) -> None:
    data = json.loads(
        plan_model(llama8b, Resources((), 64 * GiB), PlanRequest(n_ctx=4096)).to_json()
    )
    assert {"verdict", "gpu_layers", "n_ctx", "load", "memory", "reasons"} <= data.keys()
    assert {"type_k", "type_v", "flash_attn", "swa_full", "n_batch", "n_ubatch"} <= data[
        "load"
    ].keys()
    assert {"weights_bytes", "kv_bytes", "compute_bytes", "gpu_bytes", "cpu_bytes",
            "total_bytes"} <= data["memory"].keys()  # fmt: skip


def test_bad_kv_type_raises(llama8b: ModelShape) -> None:
    with pytest.raises(ValueError, match="KV cache type"):
        plan_model(llama8b, Resources(), PlanRequest(type_k="q3"))
