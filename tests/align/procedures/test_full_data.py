"""Full-data scaling: trains on training and validation subjects, never on test subjects."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.align.procedures.fixtures import context, faced
from vaxis.align.procedures import PROCEDURES
from vaxis.align.procedures.full_data import check_unseen, without_validation
from vaxis.data.cohort import Cohort
from vaxis.data.splits import SplitError, leave_stimuli_out, subject_holdout
from vaxis.data.synthetic import GroundTruth
from vaxis.decoders.units import make_units


@pytest.fixture(scope="module")
def data() -> tuple[Cohort, GroundTruth]:
    return faced()


def test_validation_moves_into_training(data: tuple[Cohort, GroundTruth]) -> None:
    split = subject_holdout(data[0])[0]
    merged = without_validation(split)
    assert split.val.size and merged.val.size == 0
    np.testing.assert_array_equal(merged.train, np.sort(np.r_[split.train, split.val]))
    np.testing.assert_array_equal(merged.test, split.test)
    assert merged.name == split.name and merged.held_out_subjects == split.held_out_subjects


def test_run_trains_on_every_non_test_subject_and_keeps_the_last_epoch(
    data: tuple[Cohort, GroundTruth], tmp_path: Path
) -> None:
    ctx = context(*data, tmp_path)
    summary = PROCEDURES["full-data-scaling"].run(ctx)
    report = json.loads((tmp_path / "metrics.json").read_text())
    cohort, split = ctx.cohort, ctx.split
    non_test = np.unique(cohort.subject[np.r_[split.train, split.val]]).tolist()
    assert report["subjects"]["train"] == non_test and report["subjects"]["val"] == []
    assert not set(report["subjects"]["train"]) & set(report["subjects"]["test"])
    assert report["subjects"]["test"] == list(split.held_out_subjects)
    assert "val" not in report and summary.val_balanced_accuracy is None
    assert report["training"]["selected_by"] == "last-epoch"
    assert report["training"]["best_epoch"] == ctx.config.epochs
    assert report["procedure"]["weight"] == 0.5 and "ours" in report["procedure"]["definition"]
    assert not (tmp_path / "val_predictions.npz").exists()
    with np.load(tmp_path / "test_predictions.npz") as saved:
        assert set(saved["subject"].tolist()) == set(split.held_out_subjects)


def test_training_on_a_test_subject_or_stimulus_is_refused(
    data: tuple[Cohort, GroundTruth],
) -> None:
    cohort = data[0]
    split = subject_holdout(cohort)[0]
    safe = make_units(cohort.subset(np.r_[split.train, split.val]), "faced9", "segment")
    check_unseen(safe, cohort, split)  # nothing held out is trained on
    one_test_subject = split.test[cohort.subject[split.test] == split.held_out_subjects[0]]
    leaky = make_units(cohort.subset(np.r_[split.train, one_test_subject]), "faced9", "segment")
    with pytest.raises(SplitError, match=r"test subjects \[\d+\] would be trained on"):
        check_unseen(leaky, cohort, split)
    by_stimulus = leave_stimuli_out(cohort)[0]
    everything = make_units(cohort, "faced9", "segment")
    with pytest.raises(SplitError, match="test stimulus"):
        check_unseen(everything, cohort, by_stimulus)
