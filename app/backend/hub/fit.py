"""Will a remote model run here? A verdict per file before anything is downloaded.

From the real header when we could read it (the planner's estimate of weights, KV cache
and buffers), else from the file size with a rough overhead: an honest, labelled guess.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from app.backend.gguf import GGUFHeader
from app.backend.hub.files import GGUFEntry
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


# ------------------------------------------------------------------ ranking files of a repo
FIT_RANK: dict[str, int] = {"full_gpu": 0, "partial": 1, "cpu_only": 2, "does_not_fit": 3}
UNKNOWN_RANK = 4  # no verdict yet: after every known one
FULL_PRECISION = frozenset({"F16", "BF16", "F32", "F64"})


@dataclass(frozen=True)
class FileChoice:
    """One downloadable file of a repo as the ranking sees it."""

    label: str
    quant: str
    size: int
    fit: FitEstimate | None  # None while the header is still being read


def fits(fit: FitEstimate | None) -> bool:
    """Runs here at all (fully or partly on the GPU, or on the CPU)."""
    return fit is not None and fit.verdict != "does_not_fit"


def fit_sort_key(choice: FileChoice) -> tuple[int, int, str]:
    """Best fit first; within a verdict the bigger (higher-quality) file first."""
    rank = FIT_RANK[choice.fit.verdict] if choice.fit is not None else UNKNOWN_RANK
    return rank, -choice.size, choice.label


def result_sort_key(fit: FitEstimate | None, checked: bool, position: int) -> tuple[int, int]:
    """Search results by fit: best verdict first, the Hub's order within one verdict;
    results not checked yet after every known verdict, repos without a model file last."""
    if not checked:
        return UNKNOWN_RANK, position
    return (FIT_RANK[fit.verdict] if fit else UNKNOWN_RANK + 1), position


def recommend(choices: list[FileChoice]) -> str | None:
    """The label of the file to suggest for this machine, or None if nothing fits.

    The largest file that fits fully on the GPU (more bits, better answers, still fast);
    else the largest that runs at all (partial offload or CPU). Full-precision files (F16,
    BF16, F32) are chosen only when no quantized file qualifies: they cost 2-4x the memory
    and speed of Q8_0 for a difference users rarely notice.
    """
    for tier in (("full_gpu",), ("full_gpu", "partial", "cpu_only")):
        pool = [c for c in choices if c.fit is not None and c.fit.verdict in tier]
        quantized = [c for c in pool if c.quant.upper() not in FULL_PRECISION]
        best = min(quantized or pool, key=lambda c: (-c.size, c.label), default=None)
        if best is not None:
            return best.label
    return None


def best_fit_by_size(entries: Iterable[GGUFEntry], resources: Resources) -> FitEstimate | None:
    """How well the repo's most suitable file would run, from file sizes alone.

    Enough to filter search results without reading any header (one API call per repo):
    the best verdict among its complete model files, the smallest need breaking ties.
    None when the repo has no usable model file.
    """
    fits_ = [fit_from_size(e.size, resources) for e in entries if not e.is_mmproj and e.complete]
    return min(fits_, key=lambda f: (FIT_RANK[f.verdict], f.memory_bytes), default=None)
