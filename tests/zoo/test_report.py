"""The zoo stage's accuracy figures: every "above chance" names its unit and comes from the
calibrated test of vaxis.decoders.chance, never from a t over subjects against 1/K.

The runs are real (``run_experiment``) on a small synthetic cohort with clip identity and no
class signal, so nothing is above chance at the clip level while clips are recognised.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy import stats

from vaxis.core.runs import METRICS_NAME
from vaxis.data.cohort import Cohort
from vaxis.data.splits import split_fold
from vaxis.data.synthetic import SynthConfig, synthesize_features
from vaxis.decoders.chance import ChanceConfig, ChanceTest, combine
from vaxis.decoders.experiment import run_experiment
from vaxis.decoders.train import TrainConfig
from vaxis.zoo.report import accuracy_figures

NULL = {"plant_valence": False, "arousal_strength": 0.0, "stimulus_strength": 0.3}
Results = dict[str, dict[str, Any]]


@pytest.fixture(scope="module")
def cohort() -> Cohort:
    config = SynthConfig(n_subjects=16, n_windows=10, seed=0, **NULL)  # type: ignore[arg-type]
    return synthesize_features(config)[0]


def _results(cohort: Cohort, root: Path, protocol: str, decoder: str, refits: int) -> Results:
    """Two seeds' metrics.json, labelled as the zoo labels its jobs."""
    results = {}
    for seed in (0, 1):
        config = TrainConfig(decoder=decoder, epochs=3, seed=seed, device="cpu", num_threads=1)
        out = root / protocol / decoder / str(seed)
        summary = run_experiment(
            cohort, split_fold(cohort, protocol), config, out, chance=ChanceConfig(refits=refits)
        )
        results[f"{decoder}/plain/seed{seed}"] = json.loads(
            (summary.path / METRICS_NAME).read_text()
        )
    return results


def _old_p(results: Results) -> float:
    """The figure's p before: one-sided t over test subjects (seed means) against 1/9."""
    per_seed = [r["test"]["per_subject_balanced_accuracy"] for r in results.values()]
    values = [np.mean([seed[s] for seed in per_seed]) for s in sorted(per_seed[0])]
    return float(stats.ttest_1samp(values, 1 / 9, alternative="greater").pvalue)


def test_clip_identity_on_a_subject_split_is_no_longer_above_chance(
    cohort: Cohort, tmp_path: Path
) -> None:
    mlp = _results(cohort, tmp_path, "holdout", "mlp", 0)
    linear = _results(cohort, tmp_path, "holdout", "linear", 9)
    assert _old_p(mlp) < 0.05  # the figure used to call clip recognition above chance
    figures, table = accuracy_figures(mlp | linear, 1 / 9, synthetic=True)
    untested = figures["test balanced accuracy mlp/plain"]
    assert untested.p is None and untested.ci is not None and untested.value > 0.2
    assert "no test of above chance (28 test clips of 28, 3 test subjects)" in untested.protocol
    assert "clip identity" in untested.protocol and "(not the null)" in untested.protocol
    refitted = figures["test balanced accuracy linear/plain"]
    expected = combine([ChanceTest.from_dict(r["chance"]) for r in linear.values()])
    assert refitted.p == expected.p and refitted.p is not None and refitted.p > 0.05
    assert refitted.value == pytest.approx(expected.statistic)
    assert "above chance at the clip level: decoder refitted on each of 9 " in refitted.protocol
    assert "null = mean over 2 runs; 28 test clips of 28, 3 test subjects" in refitted.protocol
    rows = {row[0]: row for row in table.rows}
    assert rows["mlp/plain"][3:] == ["28 clips", f"{untested.value:.3f}", rows["mlp/plain"][5],
                                     "-", "none"]  # fmt: skip
    assert rows["linear/plain"][-2:] == [f"{refitted.p:.3g}", "refit"]
    assert "per unit" in table.columns[6]


def test_held_out_clips_are_tested_by_relabelling_them(cohort: Cohort, tmp_path: Path) -> None:
    results = _results(cohort, tmp_path, "stimuli-out", "mlp", 0)
    figures, _ = accuracy_figures(results, 1 / 9, synthetic=True)
    figure = figures["test balanced accuracy mlp/plain"]
    assert figure.p is not None and figure.p > 0.05 and figure.n == 16
    assert "targets of the held-out clips permuted 999 times" in figure.protocol
    assert "9 test clips of 28, 16 test subjects" in figure.protocol


def test_runs_recorded_before_the_test_get_an_interval_and_no_p(
    cohort: Cohort, tmp_path: Path
) -> None:
    results = _results(cohort, tmp_path, "holdout", "mlp", 0)
    older = {label: {k: v for k, v in r.items() if k != "chance"} for label, r in results.items()}
    figures, table = accuracy_figures(older, 1 / 9, synthetic=True)
    figure = figures["test balanced accuracy mlp/plain"]
    assert figure.p is None and figure.ci is not None and "not recorded" in figure.protocol
    assert table.rows[0][-1] == "-"
