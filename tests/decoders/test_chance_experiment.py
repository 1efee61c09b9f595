"""The chance test as ``run_experiment`` records it and ``vaxis train`` prints it, on a small
synthetic cohort with clip identity and no class signal."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from vaxis.core.runs import METRICS_NAME
from vaxis.data.cohort import Cohort
from vaxis.data.normalize import subject_zscore
from vaxis.data.splits import split_fold
from vaxis.data.synthetic import SynthConfig, synthesize_features
from vaxis.decoders.chance import ChanceConfig, ChanceTest, combine
from vaxis.decoders.experiment import RunSummary, _refit, run_experiment
from vaxis.decoders.train import TrainConfig
from vaxis.decoders.units import make_units
from vaxis.zoo.cli import app

NULL = {"plant_valence": False, "arousal_strength": 0.0, "stimulus_strength": 0.3}


@pytest.fixture(scope="module")
def cohort() -> Cohort:
    config = SynthConfig(n_subjects=8, n_windows=10, seed=0, **NULL)  # type: ignore[arg-type]
    return synthesize_features(config)[0]


def _run(
    cohort: Cohort, protocol: str, decoder: str, out: Path, seed: int = 0, refits: int = 0
) -> RunSummary:
    config = TrainConfig(decoder=decoder, epochs=3, seed=seed, device="cpu", num_threads=1)
    split = split_fold(cohort, protocol)
    return run_experiment(cohort, split, config, out, chance=ChanceConfig(refits=refits))


def test_each_run_records_the_test_its_protocol_and_decoder_allow(
    cohort: Cohort, tmp_path: Path
) -> None:
    cases = {
        ("holdout", "mlp", 0): "none",  # test clips seen, decoder not refitted
        ("stimuli-out", "mlp", 0): "predictions",
        ("holdout", "linear", 3): "refit",
        ("subjects-x-stimuli", "svm", 3): "refit",
        ("holdout", "svm", 0): "none",  # refits switched off
    }
    for (protocol, decoder, refits), kind in cases.items():
        summary = _run(cohort, protocol, decoder, tmp_path / f"{protocol}-{decoder}", 0, refits)
        report = json.loads((summary.path / METRICS_NAME).read_text())
        tested = summary.chance
        assert tested is not None and tested.kind == kind, (protocol, decoder)
        assert report["chance"] == json.loads(json.dumps(tested.to_dict()))
        assert len(tested.null) == {"none": 0, "predictions": 999, "refit": 3}[kind]
        per_subject = report["test"]["per_subject_balanced_accuracy"].values()
        assert tested.statistic == pytest.approx(np.mean(list(per_subject)))
        assert tested.n_subjects == report["n_subjects"]["test"]
        assert tested.n_test_units == len(np.unique(_test_stimuli(cohort, protocol)))


def _test_stimuli(cohort: Cohort, protocol: str) -> np.ndarray:
    return cohort.stimulus[split_fold(cohort, protocol).test]


def test_a_refit_on_the_true_labels_is_the_run_itself(cohort: Cohort, tmp_path: Path) -> None:
    normalised = subject_zscore(cohort)
    for decoder in ("linear", "svm"):
        summary = _run(cohort, "holdout", decoder, tmp_path / decoder)
        train, val, test = (
            make_units(c) for c in split_fold(normalised, "holdout").cohorts(normalised)
        )
        config = TrainConfig(decoder=decoder, epochs=3, device="cpu", num_threads=1)
        saved = np.load(summary.path / "test_predictions.npz")["y_pred"]
        assert np.array_equal(_refit(config, test)(train, val), saved), decoder


def test_seeds_of_one_split_combine_and_a_rerun_keeps_the_recorded_test(
    cohort: Cohort, tmp_path: Path
) -> None:
    runs = [_run(cohort, "stimuli-out", "mlp", tmp_path / f"s{seed}", seed) for seed in (0, 1)]
    tests = [r.chance for r in runs]
    assert tests[0] is not None and tests[1] is not None
    assert tests[0].key == tests[1].key and tests[0].null != tests[1].null
    both = combine([t for t in tests if t is not None])
    assert both.statistic == pytest.approx((tests[0].statistic + tests[1].statistic) / 2)
    again = _run(cohort, "stimuli-out", "mlp", tmp_path / "s0", 0)
    assert again.skipped and again.chance == tests[0]


def test_vaxis_train_prints_the_test_with_its_unit_and_both_ns(
    cohort: Cohort, tmp_path: Path
) -> None:
    path = tmp_path / "null.cohort.h5"
    cohort.save(path)
    args = [str(path), "--decoder", "svm,mlp", "--seeds", "0,1", "--epochs", "2",
            "--threads", "1", "--chance-refits", "4", "-o", str(tmp_path / "runs")]  # fmt: skip
    result = CliRunner().invoke(app, args, env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "above chance at the unit of the claim" in text
    assert "28 of 28 clips" in text and "refit x4" in text  # svm, 2 seeds combined
    assert (
        "holdout mlp/plain: no test of above chance (28 test clips of 28, 1 test subject)" in text
    )
    assert "null = mean over 2 runs" in text
    metrics = tmp_path / "runs/holdout/svm/plain/seed1" / METRICS_NAME
    recorded = ChanceTest.from_dict(json.loads(metrics.read_text())["chance"])
    assert recorded.kind == "refit" and len(recorded.null) == 4
