"""Pretrain on the V-axis then fine-tune: stage 1 learns the axis, stage 2 freezes what it says."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from tests.align.procedures.fixtures import (
    CONFIG,
    context,
    correlation,
    faced,
    load_weights,
    stage_weights,
)
from vaxis.align.interventions import AuxLoss, Control
from vaxis.align.interventions.readout import FeatureReadout
from vaxis.align.procedures import PROCEDURES
from vaxis.align.procedures.base import axis_loss, new_decoder
from vaxis.align.procedures.pretrain import pretrain
from vaxis.core.positions import from_truth
from vaxis.data.cohort import Cohort
from vaxis.data.normalize import subject_zscore
from vaxis.data.synthetic import GroundTruth
from vaxis.decoders.base import Decoder
from vaxis.decoders.units import Units, make_units

LONGER = CONFIG.model_copy(update={"epochs": 12})


@pytest.fixture(scope="module")
def data() -> tuple[Cohort, GroundTruth]:
    return faced()


@pytest.fixture(scope="module")
def units(data: tuple[Cohort, GroundTruth]) -> Units:
    cohort = subject_zscore(data[0])
    return make_units(cohort.subset(cohort.subject < 6), "faced9", "segment")


def readout_r(model: Decoder, loss: FeatureReadout, units: Units, targets: FeatureReadout) -> float:
    """Correlation of ``loss``'s read-out of ``model``'s features with ``targets``' positions."""
    with torch.no_grad():
        model.eval()
        predicted = loss.predict(model.features(torch.as_tensor(units.x)))
    return correlation(predicted, targets.stimulus_positions[torch.as_tensor(units.stimulus)])


def pretrained(
    units: Units, truth: GroundTruth, control: Control | None
) -> tuple[Decoder, AuxLoss, dict[str, torch.Tensor]]:
    model = new_decoder(LONGER, units)
    head = {k: v.clone() for k, v in model.classifier.state_dict().items()}
    loss = axis_loss(from_truth(truth), units, model, 1.0, control, seed=0)
    pretrain(LONGER, units, model, loss, None)
    return model, loss, head


def test_pretraining_learns_the_axis_without_touching_the_head(
    data: tuple[Cohort, GroundTruth], units: Units
) -> None:
    model = new_decoder(LONGER, units)
    loss = axis_loss(from_truth(data[1]), units, model, 1.0, None, seed=0)
    assert isinstance(loss, FeatureReadout)
    before = readout_r(model, loss, units, loss)
    head = {k: v.clone() for k, v in model.classifier.state_dict().items()}
    result = pretrain(LONGER, units, model, loss, None)
    after = readout_r(model, loss, units, loss)
    assert after > 0.8 and after > before + 0.3, (before, after)
    assert result.selected_by == "last-epoch" and result.best_epoch == LONGER.epochs
    assert all(torch.equal(v, model.classifier.state_dict()[k]) for k, v in head.items())


def test_the_permuted_control_learns_the_permuted_axis(
    data: tuple[Cohort, GroundTruth], units: Units
) -> None:
    model, loss, _ = pretrained(units, data[1], "permuted")
    assert isinstance(loss, FeatureReadout)
    truth = axis_loss(from_truth(data[1]), units, model, 1.0, None, seed=0)
    assert isinstance(truth, FeatureReadout)
    permuted, true = readout_r(model, loss, units, loss), readout_r(model, loss, units, truth)
    assert permuted > 0.8 and permuted > true + 0.3, (permuted, true)


def test_the_label_smoothing_control_flattens_the_set_aside_head(
    data: tuple[Cohort, GroundTruth], units: Units
) -> None:
    x = torch.as_tensor(units.x)

    def entropy(model: Decoder) -> float:
        with torch.no_grad():
            model.eval()
            p = torch.softmax(model(x), dim=1)
        return float(-(p * p.log()).sum(1).mean())

    start = new_decoder(LONGER, units)
    model, _, head = pretrained(units, data[1], "label-smoothing")
    assert any(not torch.equal(v, model.classifier.state_dict()[k]) for k, v in head.items())
    assert entropy(model) > entropy(start)


@pytest.mark.parametrize("frozen", [True, False])
def test_stage_two_trains_the_head_or_everything(
    data: tuple[Cohort, GroundTruth], tmp_path: Path, frozen: bool
) -> None:
    name = "pretrain-frozen" if frozen else "pretrain-unfrozen"
    PROCEDURES[name].run(context(*data, tmp_path))
    stage1, final = stage_weights(tmp_path / "stage1"), load_weights(tmp_path / "model.pt")
    assert stage1 and not any(k.startswith("classifier.") for k in stage1)
    backbone_kept = all(torch.equal(v, final[k]) for k, v in stage1.items())
    assert backbone_kept == frozen
    report = json.loads((tmp_path / "metrics.json").read_text())
    notes = report["procedure"]
    assert notes["procedure"] == name and notes["stage1"]["selected_by"] == "last-epoch"
    assert report["training"]["selected_by"] == "val-balanced-accuracy"
    trainable = set(notes["trainable"])
    assert (trainable == {"classifier.weight", "classifier.bias"}) == frozen
    assert set(report["test"]["per_subject_balanced_accuracy"]) == {
        str(s) for s in report["subjects"]["test"]
    }
