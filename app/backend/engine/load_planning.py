"""Choosing load parameters for a model: user choices first, the planner for the rest."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from app.backend.engine.types import LoadParams
from app.backend.gguf import read_header
from app.backend.hardware import HardwareInfo
from app.backend.planner import Plan, PlanRequest, plan_model, resources_from_hardware


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
    params = replace(
        wanted,
        n_ctx=plan.n_ctx,
        n_gpu_layers=plan.gpu_layers,
        flash_attn=plan.load.flash_attn,
    )
    return params, plan
