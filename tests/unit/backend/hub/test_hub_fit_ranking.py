"""Which file of a repo to recommend, and the "best fit first" order, from planner verdicts."""

from __future__ import annotations

from app.backend.hub import FileChoice, FitEstimate, fit_sort_key, fits, recommend

GB = 10**9


def _c(label: str, quant: str, size_gb: float, verdict: str | None) -> FileChoice:
    fit = FitEstimate(verdict, int(size_gb * GB), 4096, True) if verdict else None  # type: ignore[arg-type]
    return FileChoice(label, quant, int(size_gb * GB), fit)


def test_largest_quant_that_fits_fully_on_the_gpu_wins() -> None:
    choices = [
        _c("m-Q4_K_M.gguf", "Q4_K_M", 4.9, "full_gpu"),
        _c("m-Q6_K.gguf", "Q6_K", 6.6, "full_gpu"),
        _c("m-Q8_0.gguf", "Q8_0", 8.5, "partial"),
        _c("m-F16.gguf", "F16", 16.1, "cpu_only"),
    ]
    assert recommend(choices) == "m-Q6_K.gguf"


def test_without_a_full_gpu_fit_the_largest_quant_that_runs_wins() -> None:
    choices = [
        _c("m-Q4_K_M.gguf", "Q4_K_M", 4.9, "cpu_only"),
        _c("m-Q8_0.gguf", "Q8_0", 8.5, "cpu_only"),
        _c("m-F16.gguf", "F16", 16.1, "cpu_only"),  # runs, but full precision is not worth it
        _c("m-Q2_K.gguf", "Q2_K", 3.0, None),  # still being checked: not a candidate yet
    ]
    assert recommend(choices) == "m-Q8_0.gguf"


def test_full_precision_only_when_nothing_quantized_fits() -> None:
    choices = [_c("m-F16.gguf", "F16", 1.0, "cpu_only"), _c("m-Q8_0.gguf", "Q8_0", 0.6, None)]
    assert recommend(choices) == "m-F16.gguf"


def test_nothing_recommended_when_nothing_fits() -> None:
    choices = [_c("m-Q4_0.gguf", "Q4_0", 40, "does_not_fit"), _c("m-Q8_0.gguf", "Q8_0", 70, None)]
    assert recommend(choices) is None
    assert not any(fits(c.fit) for c in choices)


def test_sort_best_fit_first_bigger_first_unknown_last() -> None:
    choices = [
        _c("a.gguf", "Q4_0", 2, "cpu_only"),
        _c("b.gguf", "Q8_0", 9, "does_not_fit"),
        _c("c.gguf", "Q4_K_M", 3, "full_gpu"),
        _c("d.gguf", "Q6_K", 4, "full_gpu"),
        _c("e.gguf", "Q5_K_M", 5, None),
        _c("f.gguf", "Q5_0", 5, "partial"),
    ]
    order = [c.label for c in sorted(choices, key=fit_sort_key)]
    assert order == ["d.gguf", "c.gguf", "f.gguf", "a.gguf", "b.gguf", "e.gguf"]


def test_best_fit_by_size_takes_the_repos_most_suitable_file() -> None:
    from app.backend.hub import GGUFEntry, RemoteFile, best_fit_by_size
    from app.backend.planner import Resources

    def entry(label: str, size: int, mmproj: bool = False) -> GGUFEntry:
        return GGUFEntry(label, "Q4_0", (RemoteFile(label, size),), mmproj)

    gib = 1024**3
    cpu_4g = Resources(gpu_free_bytes=(), ram_available_bytes=4 * gib + 512 * 1024**2)
    fit = best_fit_by_size([entry("big.gguf", 8 * gib), entry("small.gguf", 2 * gib)], cpu_4g)
    assert fit is not None and fit.verdict == "cpu_only" and not fit.from_header
    too_big = best_fit_by_size([entry("big.gguf", 8 * gib)], cpu_4g)
    assert too_big is not None and too_big.verdict == "does_not_fit"
    assert best_fit_by_size([entry("mmproj.gguf", 1, mmproj=True)], cpu_4g) is None


def test_search_results_by_fit_keep_the_hub_order_within_a_verdict() -> None:
    from app.backend.hub import result_sort_key

    def fit(verdict: str) -> FitEstimate:
        return FitEstimate(verdict, GB, 4096, False)  # type: ignore[arg-type]

    results = [  # (name, fit, checked), in the Hub's order (most downloaded first)
        ("too-big", fit("does_not_fit"), True),
        ("no-model-file", None, True),
        ("cpu-a", fit("cpu_only"), True),
        ("not-checked-yet", None, False),
        ("gpu", fit("full_gpu"), True),
        ("cpu-b", fit("cpu_only"), True),
        ("partial", fit("partial"), True),
    ]
    ordered = sorted(enumerate(results), key=lambda r: result_sort_key(r[1][1], r[1][2], r[0]))
    assert [name for _, (name, _f, _c) in ordered] == [
        "gpu", "partial", "cpu-a", "cpu-b", "too-big", "not-checked-yet", "no-model-file",
    ]  # fmt: skip
