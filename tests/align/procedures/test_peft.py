"""PEFT procedures: stage 1 is the baseline, stage 2 moves only what it claims to."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from tests.align.procedures.fixtures import CONFIG, context, faced, load_weights
from vaxis.align.interventions.base import LabelSmoothingControl
from vaxis.align.interventions.readout import FeatureReadout
from vaxis.align.procedures import PROCEDURES
from vaxis.align.procedures.base import axis_loss, new_decoder
from vaxis.core.positions import from_truth
from vaxis.data.cohort import Cohort
from vaxis.data.synthetic import GroundTruth
from vaxis.decoders.experiment import run_experiment
from vaxis.decoders.units import make_units
from vaxis.errors import DataFormatError


@pytest.fixture(scope="module")
def data() -> tuple[Cohort, GroundTruth]:
    return faced()


@pytest.fixture(scope="module")
def baseline(data: tuple[Cohort, GroundTruth], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The plain baseline arm of the same split, recipe and seed."""
    ctx = context(*data, tmp_path_factory.mktemp("baseline"))
    run_experiment(ctx.cohort, ctx.split, CONFIG, ctx.workdir, ctx.inputs, protocol="holdout")
    return ctx.workdir


def run(data: tuple[Cohort, GroundTruth], name: str, folder: Path, **changes: Any) -> Path:
    PROCEDURES[name].run(context(*data, folder, **changes))
    return folder


@pytest.mark.parametrize("variant", ["lora", "ia3"])
def test_adapters_train_and_every_frozen_weight_is_the_baselines(
    data: tuple[Cohort, GroundTruth], baseline: Path, tmp_path: Path, variant: str
) -> None:
    out = run(data, f"peft-{variant}", tmp_path)
    before, after = load_weights(baseline / "model.pt"), load_weights(out / "model.pt")
    for key, value in before.items():  # a wrapped layer's weights moved under ``.base``
        layer, _, name = key.rpartition(".")
        moved = key if key in after else f"{layer}.base.{name}"
        assert torch.equal(after[moved], value), key
    assert any(".base." in k for k in after)
    adapters = {k: v for k, v in after.items() if "lora_" in k or "ia3_" in k}
    assert adapters and "classifier.weight" in after
    start = {"lora": torch.zeros_like, "ia3": torch.ones_like}[variant]
    trained = [k for k, v in adapters.items() if "lora_a" not in k and not torch.equal(v, start(v))]
    assert trained, "stage 2 did not move the adapters"
    report = json.loads((out / "metrics.json").read_text())
    base_report = json.loads((baseline / "metrics.json").read_text())
    assert set(report) == set(base_report) | {"procedure"}
    assert report["subjects"] == base_report["subjects"]
    assert report["procedure"]["stage1"]["val_balanced_accuracy"] == pytest.approx(
        base_report["training"]["best_val_balanced_accuracy"]
    )
    assert all(("lora_" in n or "ia3_" in n) for n in report["procedure"]["trainable"])


def test_full_head_moves_the_head_only(
    data: tuple[Cohort, GroundTruth], baseline: Path, tmp_path: Path
) -> None:
    out = run(data, "peft-full-head", tmp_path)
    before, after = load_weights(baseline / "model.pt"), load_weights(out / "model.pt")
    assert set(before) == set(after)
    for key in before:
        same = torch.equal(before[key], after[key])
        assert same != key.startswith("classifier."), key
    with (
        np.load(out / "test_predictions.npz") as mine,
        np.load(baseline / "test_predictions.npz") as base,
    ):
        assert set(mine) == set(base)
        np.testing.assert_array_equal(mine["features"], base["features"])  # frozen backbone
        assert not np.array_equal(mine["logits"], base["logits"])


def test_axis_loss_and_its_controls(data: tuple[Cohort, GroundTruth]) -> None:
    cohort, truth = data
    units = make_units(cohort.subset(cohort.subject < 4), "faced9", "segment")
    model, positions = new_decoder(CONFIG, units), from_truth(truth)
    plain = axis_loss(positions, units, model, 0.1, None, seed=3)
    permuted = axis_loss(positions, units, model, 0.1, "permuted", seed=3)
    smoothing = axis_loss(positions, units, model, 0.1, "label-smoothing", seed=3)
    assert isinstance(plain, FeatureReadout) and isinstance(permuted, FeatureReadout)
    assert isinstance(smoothing, LabelSmoothingControl) and smoothing.weight == 0.1
    p, q = plain.class_positions, permuted.class_positions
    assert not torch.equal(p, q) and torch.equal(p.sort().values, q.sort().values)
    # the read-out head is drawn from the seed, whatever the caller's random state
    torch.manual_seed(99)
    assert torch.equal(plain.head.weight, permuted.head.weight)


def test_permuted_control_trains_other_adapters(
    data: tuple[Cohort, GroundTruth], tmp_path: Path
) -> None:
    real = load_weights(run(data, "peft-lora", tmp_path / "real") / "model.pt")
    control = load_weights(run(data, "peft-lora", tmp_path / "c", control="permuted") / "model.pt")
    lora_b = [k for k in real if k.endswith("lora_b")]
    assert lora_b and any(not torch.equal(real[k], control[k]) for k in lora_b)
    smoothed = run(data, "peft-ia3", tmp_path / "ls", control="label-smoothing")
    assert json.loads((smoothed / "metrics.json").read_text())["test"]["n_samples"] > 0


def test_a_finished_run_is_skipped_and_another_arms_folder_refused(
    data: tuple[Cohort, GroundTruth], baseline: Path, tmp_path: Path
) -> None:
    spec = PROCEDURES["peft-full-head"]
    first = spec.run(context(*data, tmp_path))
    again = spec.run(context(*data, tmp_path))
    assert not first.skipped and again.skipped
    assert again.test_balanced_accuracy == first.test_balanced_accuracy
    for other in (
        context(*data, tmp_path, control="permuted"),
        context(*data, tmp_path, weight=0.5),
        context(*data, baseline),
    ):
        with pytest.raises(DataFormatError, match="results of another arm"):
            spec.run(other)
