"""Choose GPU layers, tensor split and context for a model on given hardware.

Search, all on the analytic model in ``memory``: for a context, the most GPU layers that fit
every GPU's budget (``gpu_layers`` is monotone in bytes, so a binary search); for no fixed
context, the largest multiple of 256 up to ``n_ctx_train`` that keeps the best offload.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

from app.backend.engine.types import LoadParams
from app.backend.gguf import GGUFHeader

from .memory import KV_PAD, KV_TYPES, MemoryBreakdown, Settings, estimate
from .shape import ModelShape

GiB = 1024**3
MiB = 1024**2
Verdict = Literal["full_gpu", "partial", "cpu_only", "does_not_fit"]
MIN_AUTO_CTX = 4096  # don't trade context below this for more GPU layers


@dataclass(frozen=True)
class Resources:
    """Memory the new model may use. Free VRAM comes from NVML; subtract models Hearth is
    about to load (``gpu_reserved_bytes``) and keep ``*_margin_bytes`` free for the desktop.
    """

    gpu_free_bytes: tuple[int, ...] = ()
    ram_available_bytes: int = 8 * GiB
    gpu_reserved_bytes: tuple[int, ...] = ()
    ram_reserved_bytes: int = 0
    gpu_margin_bytes: int = 256 * MiB
    ram_margin_bytes: int = 512 * MiB
    gpu_offload_supported: bool = True
    gpu_names: tuple[str, ...] = ()

    def gpu_budgets(self) -> list[int]:
        if not self.gpu_offload_supported:
            return []
        reserved = list(self.gpu_reserved_bytes) + [0] * len(self.gpu_free_bytes)
        return [
            max(0, free - reserved[i] - self.gpu_margin_bytes)
            for i, free in enumerate(self.gpu_free_bytes)
        ]

    def ram_budget(self) -> int:
        return max(0, self.ram_available_bytes - self.ram_reserved_bytes - self.ram_margin_bytes)


@dataclass(frozen=True)
class PlanRequest:
    """What the user asked for; ``n_ctx=None`` means "the largest that fits"."""

    n_ctx: int | None = None
    type_k: str = "f16"
    type_v: str = "f16"
    flash_attn: bool = True  # as the engine loads (llama.cpp "auto": on where supported)
    n_seq: int = 1
    swa_full: bool = True
    n_batch: int = 512
    n_ubatch: int = 512
    gpu_layers: int | None = None  # force a layer count (user override)
    use_mmap: bool = True
    projector: GGUFHeader | None = None

    def settings(self, n_ctx: int) -> Settings:
        return Settings(
            n_ctx=n_ctx,
            type_k=self.type_k,
            type_v=self.type_v,
            flash_attn=self.flash_attn,
            n_seq=self.n_seq,
            swa_full=self.swa_full,
            n_batch=self.n_batch,
            n_ubatch=self.n_ubatch,
        )


@dataclass
class Plan:
    verdict: Verdict
    gpu_layers: int
    n_ctx: int
    load: LoadParams
    tensor_split: list[float] | None
    memory: MemoryBreakdown
    reasons: list[str] = field(default_factory=list)
    n_layers: int = 0
    n_ubatch: int = 512
    n_seq: int = 1
    budgets: dict[str, Any] = field(default_factory=dict)

    @property
    def fits(self) -> bool:
        return self.verdict != "does_not_fit"

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["load"] = self.load.to_dict()
        d["load"]["n_ubatch"] = self.n_ubatch
        d["load"]["n_seq_max"] = self.n_seq
        d["load"]["tensor_split"] = self.tensor_split
        return d

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)


def _fits(mem: MemoryBreakdown, budgets: list[int], ram: int) -> bool:
    return mem.cpu_bytes <= ram and all(
        used <= budget for used, budget in zip(mem.per_gpu_bytes, budgets, strict=True)
    )


class _Planner:
    def __init__(self, shape: ModelShape, req: PlanRequest, res: Resources) -> None:
        self.shape = shape
        self.req = req
        self.budgets = res.gpu_budgets()
        self.ram = res.ram_budget()
        self.splits = [float(b) for b in self.budgets] if any(self.budgets) else []
        self.projector = req.projector.tensor_bytes if req.projector is not None else 0
        self.max_layers = shape.n_layers + 1  # + the output layer

    def mem(self, n_ctx: int, gpu_layers: int) -> MemoryBreakdown:
        return estimate(
            self.shape, self.req.settings(n_ctx), gpu_layers, self.splits, self.projector
        )

    def gpu_fits(self, mem: MemoryBreakdown) -> bool:
        return all(u <= b for u, b in zip(mem.per_gpu_bytes, self.budgets, strict=True))

    def best_layers(self, n_ctx: int) -> int:
        """Most layers whose GPU share fits every GPU (ignores RAM; checked after)."""
        if not self.splits:
            return 0
        if self.req.gpu_layers is not None:
            return max(0, min(self.req.gpu_layers, self.max_layers))
        lo, hi = 0, self.max_layers
        if self.gpu_fits(self.mem(n_ctx, hi)):
            return hi
        while lo < hi - 1:  # invariant: lo fits (0 always does), hi doesn't
            mid = (lo + hi) // 2
            if self.gpu_fits(self.mem(n_ctx, mid)):
                lo = mid
            else:
                hi = mid
        return lo

    def largest_ctx(self, lo_ctx: int, ok: Any) -> int | None:
        """Largest multiple of 256 in [lo_ctx, n_ctx_train] with ok(ctx), assuming monotone."""
        top = max(self.shape.n_ctx_train, lo_ctx)
        if ok(top):
            return top
        if not ok(lo_ctx):
            return None
        lo, hi = lo_ctx // KV_PAD, top // KV_PAD  # lo ok, hi not
        while lo < hi - 1:
            mid = (lo + hi) // 2
            if ok(mid * KV_PAD):
                lo = mid
            else:
                hi = mid
        return lo * KV_PAD


def plan_model(
    header: GGUFHeader | ModelShape,
    resources: Resources,
    request: PlanRequest | None = None,
) -> Plan:
    """Plan how to load ``header`` on ``resources``; never raises for "too big"."""
    req = request or PlanRequest()
    for name in (req.type_k, req.type_v):
        if name not in KV_TYPES:
            raise ValueError(f"unknown KV cache type {name!r}; use one of {sorted(KV_TYPES)}")
    if req.type_v != "f16" and req.type_v not in ("f32", "bf16") and not req.flash_attn:
        req = replace(req, flash_attn=True)  # llama.cpp: a quantized V cache needs flash attn
        forced_fa = True
    else:
        forced_fa = False
    shape = header if isinstance(header, ModelShape) else ModelShape.from_header(header)
    p = _Planner(shape, req, resources)
    reasons: list[str] = []
    if forced_fa:
        reasons.append("Flash attention turned on: llama.cpp needs it for a quantized V cache.")
    if resources.gpu_free_bytes and not resources.gpu_offload_supported:
        reasons.append("This llama.cpp build can't offload to a GPU; planning for the CPU.")

    min_ctx = min(MIN_AUTO_CTX, shape.n_ctx_train)
    if req.n_ctx is not None:
        n_ctx = max(1, req.n_ctx)
    else:
        full = p.max_layers if p.splits else 0

        def ok_full(c: int) -> bool:
            m = p.mem(c, full)
            return _fits(m, p.budgets, p.ram)

        best = p.best_layers(min_ctx)
        if p.splits and best == p.max_layers and req.gpu_layers is None:
            found = p.largest_ctx(min_ctx, ok_full)
        else:

            def ok_same(c: int) -> bool:
                layers = p.best_layers(c)
                return layers >= best and _fits(p.mem(c, layers), p.budgets, p.ram)

            found = p.largest_ctx(min_ctx, ok_same)
            if found is None:  # not even min_ctx fits: try smaller contexts
                found = p.largest_ctx(KV_PAD, ok_same) or p.largest_ctx(
                    KV_PAD, lambda c: _fits(p.mem(c, p.best_layers(c)), p.budgets, p.ram)
                )
        n_ctx = found if found is not None else min_ctx
        if found is not None:
            reasons.append(
                f"Context {n_ctx:,} tokens: the largest that fits"
                + (" (the model's training context)." if n_ctx >= shape.n_ctx_train else ".")
            )

    gpu_layers = p.best_layers(n_ctx)
    mem = p.mem(n_ctx, gpu_layers)
    fits = _fits(mem, p.budgets, p.ram)
    if gpu_layers == 0 and not fits and p.splits:
        fits = False

    if not fits:
        verdict: Verdict = "does_not_fit"
        reasons.append(_does_not_fit_reason(mem, p))
        if req.n_ctx is not None:
            smaller = p.largest_ctx(
                KV_PAD, lambda c: _fits(p.mem(c, p.best_layers(c)), p.budgets, p.ram)
            )
            if smaller is not None and smaller < n_ctx:
                reasons.append(f"It would fit with a context of {smaller:,} tokens.")
    elif gpu_layers >= p.max_layers:
        verdict = "full_gpu"
        reasons.append(f"All {shape.n_layers} layers and the output layer fit in VRAM.")
    elif gpu_layers > 0:
        verdict = "partial"
        on_gpu = min(gpu_layers, shape.n_layers)
        reasons.append(
            f"{on_gpu} of {shape.n_layers} layers on the GPU, the rest on the CPU: VRAM is "
            f"too small for all {_gib(shape.weights_bytes + mem.kv_bytes)} of weights and cache."
        )
    else:
        verdict = "cpu_only"
        if not resources.gpu_free_bytes:
            reasons.append("No GPU: the model runs on the CPU.")
        elif p.splits:
            reasons.append("Not even one layer fits in free VRAM; running on the CPU.")

    tensor_split = None
    if len(p.splits) > 1 and gpu_layers > 0:
        total = sum(p.splits)
        tensor_split = [round(s / total, 4) for s in p.splits]
        reasons.append(
            "Layers split across GPUs in proportion to free VRAM: "
            + ", ".join(f"{x:.0%}" for x in tensor_split)
        )
    settings = req.settings(n_ctx)
    eff_ctx, _, _eff_batch, eff_ubatch = settings.effective()
    if eff_ctx != n_ctx:
        reasons.append(f"llama.cpp pads the context to {eff_ctx:,} (a multiple of 256).")
    load = LoadParams(
        n_ctx=n_ctx,
        n_gpu_layers=gpu_layers,
        n_batch=req.n_batch,
        use_mmap=req.use_mmap,
        flash_attn=req.flash_attn,
        type_k=req.type_k,
        type_v=req.type_v,
        swa_full=req.swa_full,
    )
    return Plan(
        verdict=verdict,
        gpu_layers=gpu_layers,
        n_ctx=n_ctx,
        load=load,
        tensor_split=tensor_split,
        memory=mem,
        reasons=reasons,
        n_layers=shape.n_layers,
        n_ubatch=eff_ubatch,
        n_seq=max(1, req.n_seq),
        budgets={"gpu_bytes": p.budgets, "ram_bytes": p.ram},
    )


def _gib(n: int) -> str:
    return f"{n / GiB:.1f} GiB" if n >= GiB else f"{n / MiB:.0f} MiB"


def _does_not_fit_reason(mem: MemoryBreakdown, p: _Planner) -> str:
    have = p.ram + sum(p.budgets)
    return f"Needs {_gib(mem.total_bytes)} but only {_gib(have)} is usable ({_gib(p.ram)} RAM" + (
        f" + {_gib(sum(p.budgets))} VRAM)." if p.budgets else ")."
    )
