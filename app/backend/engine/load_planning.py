"""Choosing load parameters for a model: user choices first, the planner for the rest."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from app.backend.engine.types import LoadParams
from app.backend.gguf import GGUFHeader, read_header
from app.backend.hardware import HardwareInfo
from app.backend.planner import Plan, PlanRequest, Resources, plan_model, resources_from_hardware


def plan_load(
    model_path: Path,
    defaults: LoadParams,
    overrides: dict[str, Any] | None,
    hardware: HardwareInfo,
    reserved_ram_bytes: int = 0,
    reserved_gpu_bytes: tuple[int, ...] = (),
) -> tuple[LoadParams, Plan]:
    """Load parameters for ``model_path`` and the plan behind them.

    ``defaults`` are the app-wide defaults; ``overrides`` the user's remembered choices for this
    model (a partial ``LoadParams`` dict). A context length is always fixed (the default or the
    user's, capped at the trained length); GPU layers come from the planner unless the user
    fixed them (``n_gpu_layers`` >= 0 in the overrides).
    """
    header = read_header(model_path)
    chosen = {**defaults.to_dict(), **(overrides or {})}
    wanted = LoadParams.from_dict(chosen)
    n_ctx = wanted.n_ctx
    if header.n_ctx_train:
        n_ctx = min(n_ctx, header.n_ctx_train) if n_ctx > 0 else header.n_ctx_train
    user_layers = (overrides or {}).get("n_gpu_layers")
    request = PlanRequest(
        n_ctx=n_ctx,
        type_k=wanted.type_k,
        type_v=wanted.type_v,
        flash_attn=wanted.flash_attn,
        swa_full=wanted.swa_full,
        n_batch=wanted.n_batch,
        n_ubatch=min(wanted.n_batch, 512),
        gpu_layers=user_layers if isinstance(user_layers, int) and user_layers >= 0 else None,
        use_mmap=wanted.use_mmap,
    )
    resources = resources_from_hardware(
        hardware, gpu_reserved_bytes=reserved_gpu_bytes, ram_reserved_bytes=reserved_ram_bytes
    )
    plan = plan_model(header, resources, request)
    n_parallel = wanted.n_parallel
    if n_parallel <= 0:
        n_parallel, plan = choose_parallel(header, resources, request, plan)
    else:
        plan = _with_parallel(header, resources, request, plan, n_parallel)
    params = replace(
        wanted,
        n_ctx=plan.n_ctx,
        n_gpu_layers=plan.gpu_layers,
        flash_attn=plan.load.flash_attn,
        n_parallel=n_parallel,
    )
    return params, plan


MAX_AUTO_PARALLEL = 8
KV_SHARE_OF_BUDGET = 0.25  # the parallel sequences' KV may take this much of usable memory


def choose_parallel(
    header: GGUFHeader, resources: Resources, request: PlanRequest, single: Plan
) -> tuple[int, Plan]:
    """How many sequences to decode together: the most (up to 8) whose KV cache, one full
    context each, fits without costing GPU layers and within a quarter of usable memory.

    The engine sizes its unified KV cache to ``n_ctx * n_parallel`` cells so every sequence
    can reach the full context; that memory is the price of parallelism, so it is planned.
    """
    if not single.fits:
        return 1, single
    budget = single.budgets.get("ram_bytes", 0) + sum(single.budgets.get("gpu_bytes", []))
    for n in (MAX_AUTO_PARALLEL, 4, 2):
        plan = _with_parallel(header, resources, request, single, n)
        if (
            plan.fits
            and plan.gpu_layers >= single.gpu_layers
            and plan.memory.kv_bytes <= KV_SHARE_OF_BUDGET * budget
        ):
            return n, plan
    return 1, single


def _with_parallel(
    header: GGUFHeader, resources: Resources, request: PlanRequest, single: Plan, n: int
) -> Plan:
    """The single-sequence plan, with the memory of ``n`` sequences of its context each."""
    if n <= 1:
        return single
    wide = replace(request, n_ctx=single.n_ctx * n, n_seq=n, gpu_layers=single.gpu_layers)
    plan = plan_model(header, resources, wide)
    return replace(
        single, memory=plan.memory, n_seq=n, verdict=single.verdict if plan.fits else plan.verdict
    )
