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
    at_decoder_rate,
    run_experiment,
    with_regime,
)
from vaxis.decoders.train import TrainConfig, forward_all
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


def test_the_saved_validation_predictions_are_the_selected_epochs_exactly(
    cohort: Cohort, tmp_path: Path
) -> None:
    """The validation pass of the selected epoch is reused, not run again: it must equal a
    fresh pass of the saved weights bit for bit (and the selected epoch is not the last)."""
    split = subject_holdout(cohort)[0]
    config = MLP.model_copy(update={"epochs": 8, "lr": 0.3})  # selects epoch 5 of 8
    run_experiment(cohort, split, config, tmp_path)
    history = json.loads((tmp_path / "metrics.json").read_text())["training"]["history"]
    model = build_decoder("mlp", 32, 5, 9, hidden=[12])
    model.load_state_dict(torch.load(tmp_path / "model.pt", weights_only=True))
    units = make_units(subject_zscore(cohort).subset(split.val))
    logits, features = forward_all(model, torch.as_tensor(units.x))
    with np.load(tmp_path / "val_predictions.npz") as saved:
        np.testing.assert_array_equal(saved["logits"], logits.numpy())
        np.testing.assert_array_equal(saved["features"], features.numpy())
    best = json.loads((tmp_path / "metrics.json").read_text())["training"]["best_epoch"]
    scores = [r["val_balanced_accuracy"] for r in history]
    assert best == int(np.argmax(scores)) + 1 < len(history)  # not the last epoch's weights


def test_a_smoke_limit_scores_every_subject_and_stimulus_on_its_first_unit(
    cohort: Cohort, tmp_path: Path
) -> None:
    split = subject_holdout(cohort)[0]
    config = MLP.model_copy(update={"max_eval_units_per_stimulus": 1})
    assert config.key() != MLP.key()  # a limited run is another run
    run_experiment(cohort, split, config, tmp_path)
    report = json.loads((tmp_path / "metrics.json").read_text())
    for part, rows in (("val", split.val), ("test", split.test)):
        with np.load(tmp_path / f"{part}_predictions.npz") as saved:
            assert set(saved["segment"].tolist()) == {0}
            pairs = set(zip(saved["subject"].tolist(), saved["stimulus"].tolist(), strict=True))
            n_rows = saved["y_true"].size
        expected = set(
            zip(cohort.subject[rows].tolist(), cohort.stimulus[rows].tolist(), strict=True)
        )
        assert pairs == expected and len(pairs) == n_rows  # one unit each
        assert report["units"][part]["n_samples"] == len(expected)
    assert report["units"]["train"]["n_samples"] == len(split.train) // 10  # all 10-s units


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


# ---------------------------------------------------------------- sampling rates
def _raw(sfreq: float) -> Cohort:
    from tests.decoders.test_units import raw_cohort

    return raw_cohort(sfreq, np.zeros((2, 4, int(30 * sfreq)), np.float32))


def _weights(tmp_path: Path) -> str:
    from tests.decoders.official_cbramod import official_backbone

    path = tmp_path / "w.pth"
    torch.save(official_backbone(width=50, depth=1, heads=2, feedforward=64).state_dict(), path)
    return str(path)


CBRAMOD_200 = {"patch_size": 200, "width": 50, "depth": 1, "heads": 2, "feedforward": 64}


def test_raw_eeg_is_resampled_to_the_rate_the_weights_expect(tmp_path: Path) -> None:
    config = TrainConfig(decoder="cbramod", hyper=CBRAMOD_200, weights=_weights(tmp_path))
    out = at_decoder_rate(_raw(250.0), config, InputConfig())
    assert out.meta.sfreq == 200.0 and out.data.shape[-1] == 6000
    plain = TrainConfig(decoder="cbramod")  # no weights: the data's own rate
    assert at_decoder_rate(_raw(250.0), plain, InputConfig()).meta.sfreq == 250.0


def test_a_rate_mismatch_without_resampling_names_both_rates(tmp_path: Path) -> None:
    config = TrainConfig(decoder="cbramod", hyper=CBRAMOD_200, weights=_weights(tmp_path))
    with pytest.raises(DataFormatError, match=r"data are at 250 Hz but the weights expect 200 Hz"):
        at_decoder_rate(_raw(250.0), config, InputConfig(resample=False))
    with pytest.raises(DataFormatError, match=r"weights expect 200 Hz but the run asks for 250"):
        at_decoder_rate(_raw(250.0), config, InputConfig(sfreq=250.0))
    assert at_decoder_rate(_raw(200.0), config, InputConfig(resample=False)).meta.sfreq == 200


@pytest.mark.parametrize(
    ("patch", "sfreq", "allowed"),
    [(200, 250.0, False), (250, 200.0, False), (250, 250.0, True), (200, 200.0, True)],
)
def test_patches_must_be_one_second(patch: int, sfreq: float, allowed: bool) -> None:
    """patch_size=200 on 250 Hz data would run on 0.8-s patches whenever a segment is a
    multiple of 200 samples (10 s = 2500 = 12.5 patches is refused by shape, 8 s is not)."""
    config = TrainConfig(decoder="cbramod", hyper={"patch_size": patch})
    if allowed:
        assert at_decoder_rate(_raw(sfreq), config, InputConfig()).meta.sfreq == sfreq
        return
    with pytest.raises(DataFormatError, match=f"patch_size={patch} samples at {sfreq:g} Hz"):
        at_decoder_rate(_raw(sfreq), config, InputConfig())
    anyway = TrainConfig(decoder="cbramod", hyper={"patch_size": patch, "any_patch_rate": True})
    assert at_decoder_rate(_raw(sfreq), anyway, InputConfig()).meta.sfreq == sfreq
