"""Will a remote model run here? A verdict per file before anything is downloaded.

From the real header when we could read it (the planner's estimate of weights, KV cache
and buffers), else from the file size with a rough overhead: an honest, labelled guess.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.backend.gguf import GGUFHeader
from app.backend.planner import PlanRequest, Resources, Verdict, plan_model

DEFAULT_FIT_CTX = 4096
SIZE_OVERHEAD = 1.15  # KV cache and buffers for a few thousand tokens, when all we know is size

VERDICT_LABELS: dict[str, str] = {
    "full_gpu": "Full GPU offload",
    "partial": "Partial GPU offload",
    "cpu_only": "CPU only",
    "does_not_fit": "Too large",
}


@dataclass(frozen=True)
class FitEstimate:
    verdict: Verdict
    memory_bytes: int
    n_ctx: int
    from_header: bool
    note: str = ""

    @property
    def label(self) -> str:
        return VERDICT_LABELS[self.verdict]


def fit_from_header(header: GGUFHeader, resources: Resources) -> FitEstimate:
    """Plan at a usual context (4k, or less if the model was trained on less)."""
    n_ctx = min(DEFAULT_FIT_CTX, header.n_ctx_train or DEFAULT_FIT_CTX)
    plan = plan_model(header, resources, PlanRequest(n_ctx=n_ctx))
    note = plan.reasons[0] if plan.reasons else ""
    return FitEstimate(plan.verdict, plan.memory.total_bytes, n_ctx, True, note)


def fit_from_size(size_bytes: int, resources: Resources) -> FitEstimate:
    """A size-only guess, used when the header could not be read."""
    need = int(size_bytes * SIZE_OVERHEAD)
    budgets = resources.gpu_budgets()
    gpu = sum(budgets)
    ram = resources.ram_budget()
    verdict: Verdict
    if budgets and need <= max(budgets):
        verdict = "full_gpu"
    elif gpu > 0 and need <= gpu + ram:
        verdict = "partial"
    elif need <= ram:
        verdict = "cpu_only"
    else:
        verdict = "does_not_fit"
    return FitEstimate(verdict, need, DEFAULT_FIT_CTX, False, "Estimated from the file size.")
