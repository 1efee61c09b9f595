"""Cross-dataset transfer: pretrain on the other dataset's cohort, fine-tune on the target."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch

from tests.align.procedures.fixtures import (
    CONFIG,
    context,
    faced,
    load_weights,
    seedv,
    stage_weights,
)
from vaxis.align.procedures import PROCEDURES, ProcedureContext
from vaxis.align.procedures.base import new_decoder
from vaxis.align.procedures.cross_dataset import restrict_channels, shared_channels, transplant
from vaxis.core.positions import from_truth
from vaxis.data.cohort import Cohort
from vaxis.data.datasets import FACED, SEEDV
from vaxis.data.synthetic import GroundTruth
from vaxis.decoders.experiment import run_experiment
from vaxis.decoders.units import make_units
from vaxis.errors import DataFormatError


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, GroundTruth]:
    """A SYNTHETIC FACED cohort file (the source) and its planted valence."""
    cohort, truth = faced(n_subjects=4, seed=5)
    return cohort.save(tmp_path_factory.mktemp("source") / "faced.cohort.h5"), truth


@pytest.fixture(scope="module")
def target() -> tuple[Cohort, GroundTruth]:
    return seedv()


def cross(
    target: tuple[Cohort, GroundTruth],
    source: tuple[Path, GroundTruth],
    out: Path,
    **changes: Any,
) -> ProcedureContext:
    path, truth = source
    return context(*target, out, source_cohort=path, source_positions=from_truth(truth), **changes)


def test_shared_channels_are_matched_by_name_in_the_targets_order(
    target: tuple[Cohort, GroundTruth], source: tuple[Path, GroundTruth]
) -> None:
    names = shared_channels(target[0], Cohort.load(source[0]))
    faced_upper = {c.upper() for c in FACED.channels}
    assert names == tuple(c for c in SEEDV.channels if c in faced_upper) and len(names) == 30
    assert "FP1" in names and "A1" not in names and "CB1" not in names
    restricted = restrict_channels(Cohort.load(source[0]), names, source[0])
    assert restricted.meta.channel_names[0] == "Fp1"  # the source keeps its own spelling
    assert [c.upper() for c in restricted.meta.channel_names] == list(names)
    index = FACED.channels.index("Oz")
    original = Cohort.load(source[0]).data[:, index]
    assert torch.equal(
        torch.as_tensor(restricted.data[:, names.index("OZ")]), torch.as_tensor(original)
    )


def test_transplant_copies_the_backbone_and_keeps_the_head(
    target: tuple[Cohort, GroundTruth], source: tuple[Path, GroundTruth]
) -> None:
    names = shared_channels(target[0], Cohort.load(source[0]))
    donor_units = make_units(restrict_channels(Cohort.load(source[0]), names, source[0]))
    target_units = make_units(restrict_channels(target[0], names, "t"), "seedv5")
    donor = new_decoder(CONFIG.model_copy(update={"seed": 7}), donor_units)
    model = new_decoder(CONFIG, target_units)
    head = {k: v.clone() for k, v in model.classifier.state_dict().items()}
    transplant(donor, model)
    for key, value in model.state_dict().items():
        expected = head[key.removeprefix("classifier.")] if key.startswith("classifier.") else None
        assert torch.equal(value, donor.state_dict()[key] if expected is None else expected)
    assert model.classifier.out_features == 5 and donor.classifier.out_features == 9


def test_run_pretrains_on_the_source_and_fine_tunes_on_the_target(
    target: tuple[Cohort, GroundTruth], source: tuple[Path, GroundTruth], tmp_path: Path
) -> None:
    ctx = cross(target, source, tmp_path / "cross")
    PROCEDURES["cross-dataset"].run(ctx)
    report = json.loads((ctx.workdir / "metrics.json").read_text())
    notes = report["procedure"]
    assert notes["source_dataset"] == "faced" and len(notes["shared_channels"]) == 30
    assert report["dataset"] == "seedv" and report["units"]["train"]["sample_shape"][-2:] == [30, 5]
    assert notes["stage1"]["selected_by"] == "last-epoch"
    donor, final = stage_weights(ctx.workdir / "source"), load_weights(ctx.workdir / "model.pt")
    assert donor["classifier.weight"].shape == (9, 16) and final["classifier.weight"].shape == (
        5,
        16,
    )
    # without the transfer, stage 2 would be the plain baseline on the same channels
    names = tuple(notes["shared_channels"])
    plain = tmp_path / "plain"
    restricted = restrict_channels(ctx.cohort, names, "target")
    run_experiment(restricted, ctx.split, CONFIG, plain, ctx.inputs, protocol="holdout")
    baseline = load_weights(plain / "model.pt")
    assert baseline.keys() == final.keys()
    assert not all(torch.equal(baseline[k], final[k]) for k in final)
    assert report["subjects"] == json.loads((plain / "metrics.json").read_text())["subjects"]


def test_the_permuted_control_pretrains_on_other_targets(
    target: tuple[Cohort, GroundTruth], source: tuple[Path, GroundTruth], tmp_path: Path
) -> None:
    real = cross(target, source, tmp_path / "real")
    control = cross(target, source, tmp_path / "control", control="permuted")
    for ctx in (real, control):
        PROCEDURES["cross-dataset"].run(ctx)
    a, b = stage_weights(real.workdir / "source"), stage_weights(control.workdir / "source")
    assert a.keys() == b.keys() and not all(torch.equal(a[k], b[k]) for k in a)


def test_missing_or_unsuitable_sources_are_refused(
    target: tuple[Cohort, GroundTruth], source: tuple[Path, GroundTruth], tmp_path: Path
) -> None:
    spec = PROCEDURES["cross-dataset"]
    with pytest.raises(ValueError, match="set source_cohort"):
        spec.run(context(*target, tmp_path))
    with pytest.raises(ValueError, match="set source_positions"):
        spec.run(context(*target, tmp_path, source_cohort=source[0]))
    wrong = from_truth(target[1])  # SEED-V positions for a FACED source
    with pytest.raises(DataFormatError, match="source_positions are for seedv"):
        spec.run(context(*target, tmp_path, source_cohort=source[0], source_positions=wrong))
    same, truth = seedv(n_subjects=3, seed=9)
    path = same.save(tmp_path / "other_seedv.cohort.h5")
    with pytest.raises(DataFormatError, match="like the target"):
        spec.run(context(*target, tmp_path, source_cohort=path, source_positions=from_truth(truth)))
    assert not (tmp_path / "metrics.json").exists()
