"""One run on one split, written to a folder: contents, skipping, refusals."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from vaxis.data.cohort import Cohort
from vaxis.data.normalize import subject_zscore
from vaxis.data.splits import Split, SplitError, leave_stimuli_out, subject_holdout
from vaxis.data.synthetic import SynthConfig, synthesize_features
from vaxis.decoders import build_decoder
from vaxis.decoders.experiment import (
    REGIMES,
    InputConfig,
    run_experiment,
    with_regime,
)
from vaxis.decoders.train import TrainConfig
from vaxis.decoders.units import make_units
from vaxis.errors import DataFormatError

MLP = TrainConfig(decoder="mlp", hyper={"hidden": [12]}, epochs=3, warmup_epochs=1, num_threads=1)


@pytest.fixture(scope="module")
def cohort() -> Cohort:
    return synthesize_features(SynthConfig(n_subjects=6, n_windows=30, seed=0))[0]


def test_a_run_writes_metrics_predictions_features_and_weights(
    cohort: Cohort, tmp_path: Path
) -> None:
    split = subject_holdout(cohort)[0]
    summary = run_experiment(cohort, split, MLP, tmp_path, protocol="holdout")
    report = json.loads((tmp_path / "metrics.json").read_text())
    assert report["synthetic"] is True and report["protocol"] == "holdout"
    subjects = report["subjects"]
    assert subjects["test"] == list(split.held_out_subjects)
    assert not set(subjects["train"]) & (set(subjects["val"]) | set(subjects["test"]))
    assert report["units"]["test"]["n_samples"] == len(subjects["test"]) * 28 * 3
    assert report["config_key"] == MLP.key() and len(report["training"]["history"]) == 3
    test = report["test"]
    assert set(test["per_subject_balanced_accuracy"]) == {str(s) for s in subjects["test"]}
    assert summary.test_balanced_accuracy == test["balanced_accuracy"]
    assert not (tmp_path / "checkpoint.pt").exists()

    with np.load(tmp_path / "test_predictions.npz") as saved:
        arrays = dict(saved)
    assert arrays["features"].shape == (test["n_samples"], 12)
    np.testing.assert_array_equal(arrays["y_pred"], arrays["logits"].argmax(1))
    np.testing.assert_allclose(arrays["probs"].sum(1), 1, rtol=1e-5)
    hits = arrays["y_pred"] == arrays["y_true"]
    assert test["accuracy"] == pytest.approx(hits.mean())
    # the saved weights reproduce the saved logits from the same (z-scored) segments
    model = build_decoder("mlp", 32, 5, 9, hidden=[12])
    model.load_state_dict(torch.load(tmp_path / "model.pt", weights_only=True))
    units = make_units(subject_zscore(cohort).subset(split.test))
    np.testing.assert_array_equal(units.y, arrays["y_true"])
    logits = model.eval()(torch.as_tensor(units.x)).detach().numpy()
    np.testing.assert_allclose(logits, arrays["logits"], rtol=1e-4, atol=1e-5)


def test_a_finished_run_is_skipped_and_another_run_never_overwrites_it(
    cohort: Cohort, tmp_path: Path
) -> None:
    split = subject_holdout(cohort)[0]
    first = run_experiment(cohort, split, MLP, tmp_path)
    written = (tmp_path / "metrics.json").stat().st_mtime_ns
    again = run_experiment(cohort, split, MLP, tmp_path)
    assert again.skipped and not first.skipped
    assert again.test_balanced_accuracy == first.test_balanced_accuracy
    assert (tmp_path / "metrics.json").stat().st_mtime_ns == written
    with pytest.raises(DataFormatError, match="different run"):
        run_experiment(cohort, split, with_regime(MLP, "aug"), tmp_path)


def test_a_leaking_split_is_refused_before_anything_is_written(
    cohort: Cohort, tmp_path: Path
) -> None:
    good = subject_holdout(cohort)[0]
    leaky = Split("leaky", np.r_[good.train, good.test[:5]], good.val, good.test[5:],
                  ("subject",), good.held_out_subjects)  # fmt: skip
    with pytest.raises(SplitError, match="in both train and test"):
        run_experiment(cohort, leaky, MLP, tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_svm_on_the_binary_task_with_held_out_stimuli(cohort: Cohort, tmp_path: Path) -> None:
    split = leave_stimuli_out(cohort)[0]
    config = TrainConfig(decoder="svm", hyper={"C": 0.01})
    inputs = InputConfig(task="binary", sequence=False)
    summary = run_experiment(cohort, split, config, tmp_path, inputs)
    report = json.loads((tmp_path / "metrics.json").read_text())
    assert "val" not in report and summary.val_balanced_accuracy is None
    assert report["held_out_stimuli"] == list(split.held_out_stimuli)
    with np.load(tmp_path / "test_predictions.npz") as saved:
        assert saved["logits"].shape[1] == 2 and saved["features"].shape[1] == 32 * 5
        assert set(np.unique(saved["label"])) <= {0, 1, 2, 3, 5, 6, 7, 8}  # no neutral clip
    # valence is planted in the synthetic cohort: unseen clips are still told apart (~0.95) ...
    assert summary.test_balanced_accuracy > 0.8
    # ... and in a cohort without valence they are not (~0.53)
    null = synthesize_features(SynthConfig(n_subjects=6, seed=0, plant_valence=False))[0]
    nothing = run_experiment(null, leave_stimuli_out(null)[0], config, tmp_path / "null", inputs)
    assert nothing.test_balanced_accuracy < 0.7


def test_regimes_set_the_studys_augmentation_and_distillation() -> None:
    assert with_regime(MLP, "plain").augmentation is None
    both = with_regime(MLP, "aug-kd")
    assert both.augmentation is not None and both.distillation is not None
    assert both.distillation.weight == 0.5 and both.augmentation.p == 0.6
    assert set(REGIMES) == {"plain", "aug", "kd", "aug-kd", "shuffled"}
    null = with_regime(MLP, "shuffled")
    assert null.shuffle_labels and null.key() != MLP.key()
    assert not with_regime(null, "plain").shuffle_labels, "regimes are complete settings"
    with pytest.raises(ValueError, match="unknown regime"):
        with_regime(MLP, "fancy")
